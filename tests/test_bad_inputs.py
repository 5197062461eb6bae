"""Bad and unusual inputs through the CLI: each gives a result or a clear message, never a
traceback, and leaves nothing on disk.

This table is the documentation of what the app, the CLI and the API accept (the README links
here). Each row changes one input of a good request (the example portrait, 1 s of the example
speech, the example ballad clip) and says what comes back: ``RESULT`` (a video and its JSON), or
the words the error message must contain. The request runs through ``python -m talkinghead
generate`` in-process, on one shared pipeline (the CLI's own start-up is tested in
test_pipeline.py); the app and the API say the same messages (test_app.py).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkinghead import media
from talkinghead.pipeline import Pipeline, PipelineConfig

pytestmark = pytest.mark.slow

RESULT = "result"
FF = media.ffmpeg_exe()
SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def ffmpeg(*args: str) -> None:
    subprocess.run([FF, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, capture_output=True)


# -- inputs the table makes ------------------------------------------------------------------
# Each maker writes one file into ``d`` from the examples in ``ex`` and returns its path.


def tiny_image(d: Path, ex: Path) -> Path:
    Image.new("RGB", (1, 1), (200, 180, 160)).save(d / "one_pixel.png")
    return d / "one_pixel.png"


def small_face_photo(d: Path, ex: Path) -> Path:  # a 40×53 photo: the face is ~7 px tall
    Image.open(ex / "portrait_astronaut.png").convert("RGB").resize((40, 53)).save(d / "small.png")
    return d / "small.png"


def huge_image(d: Path, ex: Path) -> Path:  # a 20000×20000 PNG header (400 megapixels)
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    (d / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                                 + chunk(b"IEND", b""))
    return d / "huge.png"


def large_photo(d: Path, ex: Path) -> Path:  # a real 12000×4000 photo (48 megapixels), the face 900 px tall
    portrait = Image.open(ex / "portrait_astronaut.png").convert("RGB").resize((4000, 4000))
    large = Image.new("RGB", (12000, 4000), (90, 110, 140))
    large.paste(portrait, (4000, 0))
    large.save(d / "large.jpg", quality=90)
    return d / "large.jpg"


def rgba_portrait(d: Path, ex: Path) -> Path:
    img = Image.open(ex / "portrait_astronaut.png").convert("RGBA")
    img.putalpha(Image.new("L", img.size, 180))
    img.save(d / "rgba.png")
    return d / "rgba.png"


def gif_portrait(d: Path, ex: Path) -> Path:
    Image.open(ex / "portrait_astronaut.png").convert("RGB").save(d / "portrait.gif")
    return d / "portrait.gif"


def text_named_png(d: Path, ex: Path) -> Path:
    (d / "photo.png").write_text("this is not a picture\n")
    return d / "photo.png"


def video_as_portrait(d: Path, ex: Path) -> Path:
    return ex / "style_ballad.mp4"


def wav_as(codec: str, rate: int, channels: int = 1) -> callable:
    def make(d: Path, ex: Path) -> Path:
        out = d / f"speech_{codec}_{rate}_{channels}ch.wav"
        ffmpeg("-i", str(ex / "speech_en.wav"), "-t", "1.2", "-c:a", codec, "-ar", str(rate), "-ac", str(channels),
               str(out))
        return out

    make.__name__ = f"wav_{codec}_{rate}_{channels}ch"
    return make


def m4a_audio(d: Path, ex: Path) -> Path:
    ffmpeg("-i", str(ex / "speech_en.wav"), "-t", "1.2", "-c:a", "aac", str(d / "speech.m4a"))
    return d / "speech.m4a"


def short_audio(d: Path, ex: Path) -> Path:  # 0.1 s
    wav = media.load_audio(ex / "speech_en.wav")
    start = int(np.argmax(np.abs(wav) > 0.1))  # inside speech, not in the leading silence
    return media.save_wav(d / "short.wav", wav[start : start + media.SAMPLE_RATE // 10])


def silent_audio(d: Path, ex: Path) -> Path:
    return media.save_wav(d / "silence.wav", np.zeros(media.SAMPLE_RATE, dtype=np.float32))


def wrong_header_wav(d: Path, ex: Path) -> Path:  # a RIFF header that lies about its format
    data = bytearray((ex / "speech_en.wav").read_bytes()[: 4 * media.SAMPLE_RATE])
    data[20:22] = (0x55, 0x55)  # audio format tag 0x5555: no such codec
    (d / "broken.wav").write_bytes(bytes(data))
    return d / "broken.wav"


def image_as_audio(d: Path, ex: Path) -> Path:
    return ex / "portrait_astronaut.png"


def silent_video_as_audio(d: Path, ex: Path) -> Path:
    ffmpeg("-i", str(ex / "style_ballad.mp4"), "-t", "1", "-an", "-c:v", "libx264", str(d / "mute.mp4"))
    return d / "mute.mp4"


def _ballad(ex: Path, seconds: float = 2.0) -> np.ndarray:
    return media.load_video(ex / "style_ballad.mp4", max_seconds=seconds, with_audio=False).frames


def truncated_mp4(d: Path, ex: Path) -> Path:  # the first 40 % of the bytes of a real clip
    data = (ex / "style_rap.mp4").read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) * 2 // 5])
    return d / "cut.mp4"


def text_named_mp4(d: Path, ex: Path) -> Path:
    (d / "clip.mp4").write_text("not a video at all\n")
    return d / "clip.mp4"


def faceless_clip(d: Path, ex: Path) -> Path:
    frames = np.full((25, 240, 320, 3), 120, dtype=np.uint8)
    frames[:, 60:180, 100 + np.arange(25) % 40] = 200  # something moves, but it is not a face
    return media.write_video(d / "no_face.mp4", frames, 25)


def face_in_three_frames(d: Path, ex: Path) -> Path:
    frames = _ballad(ex)
    blank = np.full_like(frames, 40)
    blank[10:13] = frames[10:13]
    return media.write_video(d / "three_faces.mp4", blank, 25)


def two_person_clip(d: Path, ex: Path) -> Path:
    frames = _ballad(ex)
    return media.write_video(d / "two_people.mp4", np.concatenate([frames, frames[:, :, ::-1]], axis=2), 25)


def phone_clip(d: Path, ex: Path) -> Path:  # stored landscape, shown portrait (display matrix)
    ffmpeg("-i", str(ex / "style_ballad.mp4"), "-t", "2", "-vf", "transpose=2", "-c:v", "libx264",
           str(d / "stored.mp4"))
    ffmpeg("-display_rotation", "90", "-i", str(d / "stored.mp4"), "-c", "copy", str(d / "phone.mp4"))
    return d / "phone.mp4"


def gif_clip(d: Path, ex: Path) -> Path:
    ffmpeg("-i", str(ex / "style_ballad.mp4"), "-t", "2", "-vf", "fps=12.5,scale=256:-1", str(d / "clip.gif"))
    return d / "clip.gif"


def webm_clip(d: Path, ex: Path) -> Path:
    ffmpeg("-i", str(ex / "style_ballad.mp4"), "-t", "2", "-c:v", "libvpx-vp9", "-b:v", "1M", "-deadline", "realtime",
           "-an", str(d / "clip.webm"))
    return d / "clip.webm"


def image_as_style(d: Path, ex: Path) -> Path:
    return ex / "portrait_astronaut.png"


def audio_as_style(d: Path, ex: Path) -> Path:
    return ex / "speech_en.wav"


def shared(kind: str, name: str) -> callable:
    def make(d: Path, ex: Path) -> Path:
        path = SHARED_MEDIA / kind / name
        if not path.is_file():
            pytest.skip(f"{path} is absent: real media unavailable")
        return path

    make.__name__ = name
    return make


# An animal is refused either way: no face found at all, or a face that is not a person's.
NO_HUMAN = ("no human face found", "no face found")
NO_FACE = "No face"

# (role, input, what comes back). Roles: the portrait, the audio or the style clip of the request.
CASES: list[tuple[str, object, str | tuple[str, ...]]] = [
    # portraits
    ("portrait", tiny_image, "only 1×1 pixels: upload a larger image"),
    ("portrait", small_face_photo, "too small to animate"),
    ("portrait", huge_image, "declares an enormous size"),
    ("portrait", large_photo, RESULT),
    ("portrait", rgba_portrait, RESULT),
    ("portrait", gif_portrait, RESULT),
    ("portrait", text_named_png, "not an image"),
    ("portrait", video_as_portrait, "is a video, not a photo"),
    ("portrait", shared("portraits", "hallo_ref1.jpg"), RESULT),  # a painting
    ("portrait", shared("portraits", "lp_s1.jpg"), RESULT),
    ("portrait", shared("portraits", "lp_s2.jpg"), RESULT),  # black and white
    ("portrait", shared("portraits", "lp_s10.jpg"), RESULT),  # a painting
    ("portrait", shared("portraits", "lp_s6.jpg"), RESULT),  # a terracotta statue
    ("portrait", shared("portraits", "lp_s7.jpg"), RESULT),  # a cartoon boy
    ("portrait", shared("portraits", "lp_s22.jpg"), NO_HUMAN),  # a monkey
    ("portrait", shared("portraits", "lp_s31.jpg"), NO_HUMAN),  # a shiba
    ("portrait", shared("portraits", "lp_s33.jpg"), NO_HUMAN),  # a golden retriever
    ("portrait", shared("portraits", "lp_s36.jpg"), NO_HUMAN),  # a llama
    ("portrait", shared("portraits", "lp_s39.jpg"), NO_HUMAN),  # a cat
    ("portrait", shared("portraits", "lp_s41.jpg"), NO_HUMAN),  # a cat (PNG data, .jpg name)
    # audio
    ("audio", wav_as("pcm_u8", 8000), RESULT),
    ("audio", wav_as("pcm_s24le", 22050), RESULT),
    ("audio", wav_as("pcm_f32le", 48000), RESULT),
    ("audio", wav_as("pcm_s16le", 96000, channels=2), RESULT),
    ("audio", wav_as("pcm_s16le", 44100, channels=2), RESULT),
    ("audio", m4a_audio, RESULT),
    ("audio", short_audio, RESULT),
    ("audio", silent_audio, "the audio is silent"),
    ("audio", wrong_header_wav, "could not be decoded as audio"),
    ("audio", image_as_audio, "has no audio track (it is an image)"),
    ("audio", silent_video_as_audio, "has no audio track (it is a video without sound)"),
    ("audio", text_named_mp4, "not a media file"),
    ("audio", shared("audio", "ap_lyl.wav"), RESULT),
    ("audio", shared("audio", "em_chunnuanhuakai.wav"), RESULT),
    ("audio", shared("audio", "em_echomimic_en.wav"), RESULT),
    ("audio", shared("audio", "hallo_1.wav"), RESULT),
    ("audio", shared("audio", "sad_RD_Radio31_000.wav"), RESULT),
    # style clips
    ("style", truncated_mp4, RESULT),  # the part that is there is used
    ("style", text_named_mp4, "not a media file"),
    ("style", faceless_clip, NO_FACE),
    ("style", face_in_three_frames, "only 3 of the 50 frames of the style clip show a usable face"),
    ("style", two_person_clip, RESULT),
    ("style", phone_clip, RESULT),
    ("style", gif_clip, RESULT),
    ("style", webm_clip, RESULT),
    ("style", image_as_style, "is a still image"),
    ("style", audio_as_style, "has no video track"),
    *(("style", shared("style_clips", p), RESULT) for p in (
        "dt_M030_front_neutral_level1_001.mp4", "dt_W009_front_happy_level3_001.mp4", "lp_d10.mp4", "lp_d14.mp4",
        "lp_d3.mp4", "sad_WDA_KatieHill_000.mp4", "st_Obama_clip3.mp4", "st_furious_talk1_clip2.mp4",
        "st_happyenglish_clip2.mp4",
    )),
]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    # Short caps keep the table fast: the first second of each audio, three seconds of each clip.
    return Pipeline(PipelineConfig(renderer="warp", device="cpu", max_audio_seconds=1.0, max_style_seconds=3.0))


@pytest.fixture(scope="module")
def good(examples_dir, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("good")
    wav = media.load_audio(examples_dir / "speech_en.wav")[: media.SAMPLE_RATE]
    return {
        "portrait": examples_dir / "portrait_astronaut.png",
        "audio": media.save_wav(d / "speech.wav", wav),
        "style": examples_dir / "style_ballad.mp4",
    }


def _temp_entries() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("talkinghead-*"))


@pytest.mark.parametrize(("role", "make", "expected"), CASES, ids=[f"{r}-{m.__name__}" for r, m, _ in CASES])
def test_bad_input(role, make, expected, pipeline, good, examples_dir, tmp_path, monkeypatch, capsys):
    from talkinghead import cli
    from talkinghead import pipeline as pipeline_module

    inputs = dict(good)
    inputs[role] = make(tmp_path, examples_dir)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr(pipeline_module, "Pipeline", lambda config: pipeline)  # the CLI builds no second one
    before = _temp_entries()
    rc = cli.main([
        "generate", "--portrait", str(inputs["portrait"]), "--audio", str(inputs["audio"]),
        "--style", str(inputs["style"]), "-o", str(out_dir / "out.mp4"), "--steps", "3", "--size", "256",
    ])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err + printed.out
    assert _temp_entries() <= before, "the request left a temporary folder behind"
    written = sorted(p.name for p in out_dir.iterdir())
    if expected == RESULT:
        assert rc == 0, printed.err
        assert written == ["out.json", "out.mp4"]
        info = media.probe(out_dir / "out.mp4")
        assert info.has_video and info.has_audio and (info.duration or 0) > 0
    else:
        assert rc == 2, printed.err
        (message,) = [line for line in printed.err.splitlines() if line.startswith("error: ")]
        wanted = (expected,) if isinstance(expected, str) else expected
        assert any(w.lower() in message.lower() for w in wanted), message
        assert written == [], f"a failed request wrote {written}"
