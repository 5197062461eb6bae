"""Media I/O: every fixture is made here (Pillow, numpy, the ffmpeg binary), offline and small."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
import wave
import weakref
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkinghead import media
from talkinghead.errors import InputError

FF = media.ffmpeg_exe()
W, H = 64, 48  # fixture frame size


def ffmpeg(*args: str, stdin: bytes | None = None) -> None:
    no_stdin = ["-nostdin"] if stdin is None else []
    subprocess.run([FF, *no_stdin, "-hide_banner", "-loglevel", "error", "-y", *args], input=stdin, check=True,
                   capture_output=True)


def ffmpeg_header(path: Path) -> str:
    """What `ffmpeg -i` prints about a file (independent of media.probe's parsing)."""
    return subprocess.run([FF, "-hide_banner", "-i", str(path)], capture_output=True).stderr.decode()


def gradient(w: int = W, h: int = H) -> np.ndarray:
    """An RGB test picture whose every region differs (catches flips and channel swaps)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), np.full_like(x, 90)], axis=2).astype(
        np.uint8
    )


def grey_frames(n: int, w: int = W, h: int = H) -> np.ndarray:
    """Frame i is uniform grey 20 + 10·i: the frame index can be read back from the pixels."""
    levels = 20 + 10 * np.arange(n)
    return np.broadcast_to(levels[:, None, None, None], (n, h, w, 3)).astype(np.uint8).copy()


def encode(path: Path, frames: np.ndarray, fps: float, *codec: str, audio: Path | None = None) -> Path:
    n, h, w, _ = frames.shape
    extra = ["-i", str(audio), "-map", "0:v", "-map", "1:a", "-shortest"] if audio else []
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", str(fps), "-i", "-",
           *extra, *codec, str(path), stdin=frames.tobytes())
    return path


def sine(seconds: float, rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def raw_f32(tmp_path: Path, audio: np.ndarray, name: str = "src.f32") -> Path:
    p = tmp_path / name
    p.write_bytes(audio.astype("<f4").tobytes())
    return p


def make_audio(tmp_path: Path, name: str, rate: int, *codec: str, seconds: float = 1.0, channels: int = 1,
               amp: float = 0.5) -> Path:
    src = raw_f32(tmp_path, np.repeat(sine(seconds, rate, amp=amp)[:, None], channels, axis=1).ravel())
    out = tmp_path / name
    ffmpeg("-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", str(src), *codec, str(out))
    return out


def peak_frequency(audio: np.ndarray, rate: int = media.SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[np.argmax(spectrum)])


# ------------------------------------------------------------------------------------------ images


@pytest.mark.parametrize("fmt, suffix, tol", [("JPEG", ".jpg", 12), ("PNG", ".png", 0), ("WEBP", ".webp", 12),
                                               ("BMP", ".bmp", 0), ("TIFF", ".tif", 0)])
def test_image_formats_from_path_and_bytes(tmp_path, fmt, suffix, tol):
    src = gradient()
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(src).save(path, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    for source in (path, str(path), path.read_bytes()):
        img = media.load_image(source)
        assert img.dtype == np.uint8 and img.shape == (H, W, 3) and img.flags.c_contiguous
        assert np.abs(img.astype(int) - src).mean() <= tol


@pytest.mark.parametrize("orientation, k", [(6, -1), (8, 1), (3, 2), (1, 0)])
def test_exif_orientation_is_applied(tmp_path, orientation, k):
    # Stored 80×40 with a red block in the top-left corner; the tag says how to turn it for display.
    stored = np.full((40, 80, 3), 200, np.uint8)
    stored[:16, :16] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    img = media.load_image(path)
    expected = np.rot90(stored, k)  # k = -1: 90° clockwise (tag 6, a phone held upright)
    assert img.shape == expected.shape
    assert np.abs(img.astype(int) - expected).mean() < 4
    if orientation == 6:
        assert img.shape == (80, 40, 3)
        assert tuple(img[4, 36]) == pytest.approx((255, 0, 0), abs=30)  # red block now top-right


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, : W // 2, 3] = 255  # left half opaque red
    rgba[:, W // 2 :, 3] = 128  # right half half-transparent red
    path = tmp_path / "logo.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = media.load_image(path)
    assert tuple(img[0, 0]) == (255, 0, 0)
    assert tuple(img[0, -1]) == pytest.approx((255, 127, 127), abs=1)
    # The same array handed over in memory (as Gradio may) gives the same picture.
    assert np.abs(media.load_image(rgba).astype(int) - img).max() <= 1


@pytest.mark.parametrize("mode", ["L", "LA", "1", "P", "P-transparent"])
def test_grey_and_palette_modes(tmp_path, mode):
    src = gradient()
    path = tmp_path / "img.png"
    if mode == "P-transparent":
        im = Image.fromarray(src).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        idx = np.asarray(im)[0, 0]
        im.info["transparency"] = int(idx)
        im.save(path, transparency=int(idx))
        img = media.load_image(path)
        assert tuple(img[0, 0]) == (255, 255, 255)  # transparent colour → white background
    else:
        Image.fromarray(src).convert(mode).save(path)
        img = media.load_image(path)
        expected = np.asarray(Image.fromarray(src).convert(mode).convert("RGB")).astype(int)
        assert np.abs(img.astype(int) - expected).max() <= 1
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    if mode in ("L", "LA", "1"):
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (W, H), (255, 0, 0, 0)).save(path, quality=95)  # pure cyan ink
    img = media.load_image(path)
    assert img.shape == (H, W, 3)
    assert tuple(img[H // 2, W // 2]) == pytest.approx((0, 255, 255), abs=8)


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path):
    a = np.zeros((H, W), np.uint16)
    a[:, : W // 2] = 32896  # 50 % grey in 16 bits
    a[:, W // 2 :] = 65535
    path = tmp_path / "deep.png"
    Image.fromarray(a).save(path)
    assert Image.open(path).mode.startswith("I")
    img = media.load_image(path)
    assert tuple(img[0, 0]) == (128, 128, 128)
    assert tuple(img[0, -1]) == (255, 255, 255)


def test_16_bit_rgb_png(tmp_path):
    deep = (gradient().astype(np.uint16) * 257).astype("<u2")  # 8-bit picture in 16-bit full scale
    path = tmp_path / "deep_rgb.png"
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb48le", "-s", f"{W}x{H}", "-i", "-", "-pix_fmt", "rgb48be", str(path),
           stdin=deep.tobytes())
    assert "rgb48be" in ffmpeg_header(path)
    img = media.load_image(path)
    assert np.abs(img.astype(int) - gradient()).max() <= 1


def test_arrays_and_pillow_images_are_accepted():
    src = gradient()
    out = media.load_image(src)
    assert np.array_equal(out, src)
    grey = src[..., 0]
    assert media.load_image(grey).shape == (H, W, 3)
    assert np.array_equal(media.load_image(Image.fromarray(src)), src)
    with pytest.raises(ValueError, match="uint8"):
        media.load_image(src.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        media.load_image(np.zeros((4, 4, 2), np.uint8))


def test_huge_images_are_downscaled_keeping_aspect(tmp_path):
    path = tmp_path / "wide.jpg"
    Image.fromarray(gradient(3000, 1000)).save(path, quality=90)
    img = media.load_image(path)
    assert img.shape == (683, 2048, 3)
    assert media.load_image(path, max_side=None).shape == (1000, 3000, 3)
    assert media.load_image(path, max_side=300).shape == (100, 300, 3)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that *declares* width×height (the classic decompression bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused(tmp_path):
    # Above 179 MP Pillow's own guard raises while the header is read; that becomes InputError too.
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(InputError, match="bomb.png declares an enormous size and looks like a decompression bomb"):
        media.load_image(path)
    # Between Pillow's warning (89 MP) and error (179 MP) thresholds our own cap refuses it.
    path.write_bytes(_png_header_only(12_000, 12_000))
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(InputError, match="144 megapixels"):
        media.load_image(path)


def test_images_over_the_pixel_cap_are_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png_header_only(8500, 8500))  # 72 MP: under Pillow's limit, over ours
    with pytest.raises(InputError, match=r"big.png is too large \(8500×8500 = 72 megapixels, the limit is 64\)"):
        media.load_image(path)


def test_pixel_cap_is_configurable(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(gradient()).save(path)
    with pytest.raises(InputError, match="too large"):
        media.load_image(path, max_pixels=1000)


def test_corrupt_and_non_image_files(tmp_path):
    garbage = tmp_path / "photo.jpg"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"photo\.jpg is not an image that can be read: upload a JPEG, PNG"):
        media.load_image(garbage)
    text = tmp_path / "notes.png"
    text.write_text("hello, this is not a picture")
    with pytest.raises(InputError, match="notes.png is not an image"):
        media.load_image(text)
    with pytest.raises(InputError, match="the uploaded file is not an image"):
        media.load_image(b"GIF89 but not really")

    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.png is damaged or incomplete"):
        media.load_image(cut)

    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(InputError, match="empty"):
        media.load_image(empty)
    with pytest.raises(InputError, match="does not exist"):
        media.load_image(tmp_path / "missing.jpg")
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(100))
    with pytest.raises(InputError, match="HEIC"):
        media.load_image(heic)


def test_video_given_as_image_is_rejected(tmp_path):
    clip = encode(tmp_path / "clip.mp4", grey_frames(5), 10, "-pix_fmt", "yuv420p")
    with pytest.raises(InputError, match="clip.mp4 is a video, not a photo: upload a JPEG"):
        media.load_image(clip)


def test_save_image_roundtrip_and_atomic(tmp_path):
    src = gradient()
    out = media.save_image(tmp_path / "out.png", src)
    assert np.array_equal(media.load_image(out), src)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


# ------------------------------------------------------------------------------------------- audio


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("codec", ["pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"])
def test_wav_any_depth_and_rate(tmp_path, codec, rate):
    path = make_audio(tmp_path, "speech.wav", rate, "-c:a", codec, seconds=1.0)
    assert codec in ffmpeg_header(path)
    audio = media.load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - media.SAMPLE_RATE) <= 2
    assert peak_frequency(audio) == pytest.approx(440, abs=2)
    core = audio[1000:-1000]  # the resampler's edges aside
    assert np.abs(core).max() == pytest.approx(0.5, abs=0.02)


def test_stereo_is_averaged_to_mono(tmp_path):
    left = sine(1.0, 44100, amp=0.8)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    src = raw_f32(tmp_path, stereo.ravel())
    path = tmp_path / "stereo.wav"
    ffmpeg("-f", "f32le", "-ar", "44100", "-ac", "2", "-i", str(src), "-c:a", "pcm_s16le", str(path))
    assert "stereo" in ffmpeg_header(path)
    audio = media.load_audio(path)
    assert np.abs(audio[1000:-1000]).max() == pytest.approx(0.4, abs=0.01)  # (L + R) / 2
    both = make_audio(tmp_path, "both.wav", 44100, "-c:a", "pcm_f32le", channels=2, amp=0.9)
    assert np.abs(media.load_audio(both)[1000:-1000]).max() == pytest.approx(0.9, abs=0.01)  # not 0.9·√2


def _audio_encoders() -> str:
    return subprocess.run([FF, "-hide_banner", "-encoders"], capture_output=True).stdout.decode()


@pytest.mark.parametrize("name, encoder, codec_args", [
    ("song.mp3", "libmp3lame", ["-c:a", "libmp3lame", "-b:a", "128k"]),
    ("voice.m4a", "aac", ["-c:a", "aac", "-b:a", "128k"]),
    ("voice.ogg", "libvorbis", ["-c:a", "libvorbis"]),
    ("voice.opus", "libopus", ["-c:a", "libopus"]),
    ("voice.flac", "flac", ["-c:a", "flac"]),
])
def test_compressed_audio_formats(tmp_path, name, encoder, codec_args):
    if f" {encoder} " not in _audio_encoders():
        pytest.skip(f"this ffmpeg build has no {encoder} encoder")
    path = make_audio(tmp_path, name, 44100 if encoder != "libopus" else 48000, *codec_args, seconds=2.0)
    audio = media.load_audio(path)
    assert abs(len(audio) / media.SAMPLE_RATE - 2.0) < 0.1
    assert peak_frequency(audio) == pytest.approx(440, abs=2)
    assert np.abs(audio[4000:-4000]).max() == pytest.approx(0.5, abs=0.05)


def test_audio_track_of_a_video(tmp_path):
    wav = make_audio(tmp_path, "a.wav", 44100, "-c:a", "pcm_s16le", seconds=2.0)
    clip = encode(tmp_path / "talk.mp4", grey_frames(20), 10, "-pix_fmt", "yuv420p", "-c:a", "aac", audio=wav)
    audio = media.load_audio(clip)
    assert abs(len(audio) / media.SAMPLE_RATE - 2.0) < 0.1
    assert peak_frequency(audio) == pytest.approx(440, abs=2)
    assert len(media.load_audio(clip, max_seconds=0.5)) == media.SAMPLE_RATE // 2


def test_audio_errors_are_clear(tmp_path):
    mute = encode(tmp_path / "mute.mp4", grey_frames(5), 10, "-pix_fmt", "yuv420p")
    with pytest.raises(InputError, match=r"mute\.mp4 has no audio track \(it is a video without sound\)"):
        media.load_audio(mute)

    silent = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "1", str(silent))
    with pytest.raises(InputError, match="the audio is silent: silence.wav holds only digital silence"):
        media.load_audio(silent)

    garbage = tmp_path / "voice.mp3"
    garbage.write_bytes(b"definitely not audio\n" * 50)
    with pytest.raises(InputError, match="voice.mp3 is not a media file that can be read"):
        media.load_audio(garbage)

    photo = tmp_path / "face.png"
    Image.fromarray(gradient()).save(photo)
    with pytest.raises(InputError, match="face.png has no audio track"):
        media.load_audio(photo)

    good = make_audio(tmp_path, "ok.wav", 16000, "-c:a", "pcm_s16le")
    broken = tmp_path / "broken.m4a"
    ffmpeg("-i", str(good), "-c:a", "aac", str(broken))
    broken.write_bytes(broken.read_bytes()[:200])
    with pytest.raises(InputError, match="broken.m4a"):
        media.load_audio(broken)


def test_cover_art_does_not_make_a_song_a_video(tmp_path):
    wav = make_audio(tmp_path, "a.wav", 44100, "-c:a", "pcm_s16le")
    cover = tmp_path / "cover.png"
    Image.fromarray(gradient()).save(cover)
    song = tmp_path / "song.mp3"
    ffmpeg("-i", str(wav), "-i", str(cover), "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-c:v", "png",
           "-disposition:v", "attached_pic", str(song))
    assert "attached pic" in ffmpeg_header(song)
    info = media.probe(song)
    assert info.kind == "audio" and not info.has_video and info.has_audio
    assert peak_frequency(media.load_audio(song)) == pytest.approx(440, abs=2)
    with pytest.raises(InputError, match="no video track"):
        media.load_video(song)


def test_load_audio_array_as_gradio_gives_it():
    left = sine(1.0, 44100, amp=0.5)
    pcm = (np.stack([left, left], axis=1) * 32767).astype(np.int16)  # n × 2, int16
    audio = media.load_audio_array(pcm, 44100)
    assert audio.dtype == np.float32 and len(audio) == media.SAMPLE_RATE
    assert peak_frequency(audio) == pytest.approx(440, abs=2)
    assert np.abs(audio[500:-500]).max() == pytest.approx(0.5, abs=0.01)
    # channels-first, float, another rate
    f = media.load_audio_array(np.stack([sine(1.0, 48000), sine(1.0, 48000)]), 48000)
    assert len(f) == media.SAMPLE_RATE and peak_frequency(f) == pytest.approx(440, abs=2)
    # int32 and uint8 full scale
    i32 = media.load_audio_array((sine(1.0, 16000) * 2**31).astype(np.int32), 16000)
    assert np.abs(i32).max() == pytest.approx(0.5, abs=0.01)
    u8 = media.load_audio_array((sine(1.0, 16000) * 127 + 128).astype(np.uint8), 16000)
    assert np.abs(u8).max() == pytest.approx(0.5, abs=0.02)
    assert len(media.load_audio_array(pcm, 44100, max_seconds=0.25)) == 4000
    with pytest.raises(InputError, match="the audio is silent"):
        media.load_audio_array(np.zeros(16000, np.int16), 16000)
    with pytest.raises(InputError, match="no audio samples"):
        media.load_audio_array(np.zeros(0, np.int16), 16000)
    with pytest.raises(InputError, match="NaN"):
        media.load_audio_array(np.full(100, np.nan, np.float32), 16000)
    with pytest.raises(InputError, match="sample rate"):
        media.load_audio_array(pcm, 0)


def test_save_wav_roundtrip(tmp_path):
    a = sine(0.5, media.SAMPLE_RATE)
    out = media.save_wav(tmp_path / "out.wav", a)
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, 8000)
    back = media.load_audio(out)
    assert np.abs(back - a).max() < 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


# ------------------------------------------------------------------------------------------- video

VIDEO_FORMATS = [
    ("clip.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    ("clip.mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    ("clip.webm", ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime", "-b:v", "1M"]),
    ("clip.avi", ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p"]),
    ("clip.gif", []),
]


@pytest.mark.parametrize("name, codec", VIDEO_FORMATS)
def test_video_formats_read_back(tmp_path, name, codec):
    frames = grey_frames(20)
    path = encode(tmp_path / name, frames, 10, *codec)
    info = media.probe(path)
    assert info.kind == "video" and (info.width, info.height) == (W, H) and info.fps == pytest.approx(10)
    clip = media.load_video(path)
    assert clip.frames.shape == (20, H, W, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == pytest.approx(10) and clip.duration == pytest.approx(2.0)
    assert clip.audio is None and not clip.truncated and clip.size == (W, H) and len(clip) == 20
    means = clip.frames.reshape(20, -1).mean(axis=1)
    assert np.abs(means - (20 + 10 * np.arange(20))).max() < 6  # every frame, in order, none doubled


def test_frame_and_time_caps(tmp_path):
    path = encode(tmp_path / "long.mp4", grey_frames(20), 10, "-pix_fmt", "yuv420p")
    clip = media.load_video(path, max_frames=5)
    assert len(clip) == 5 and clip.truncated and clip.duration == pytest.approx(0.5)
    assert np.abs(clip.frames.reshape(5, -1).mean(axis=1) - (20 + 10 * np.arange(5))).max() < 6
    assert media.load_video(path, max_seconds=0.75).frames.shape[0] == 7
    assert media.load_video(path, max_seconds=0.75).truncated
    exact = media.load_video(path, max_frames=20)
    assert len(exact) == 20 and not exact.truncated
    assert not media.load_video(path, max_seconds=10).truncated
    small = media.load_video(path, target_size=32)
    assert small.frames.shape == (20, 24, 32, 3)
    assert media.load_video(path, target_size=(40, 40)).frames.shape == (20, 40, 40, 3)
    resampled = media.load_video(path, fps=5)
    assert len(resampled) == 10 and resampled.duration == pytest.approx(2.0)


def test_portrait_phone_video_is_rotated_for_display(tmp_path):
    frames = grey_frames(6)
    frames[:, :16, :16] = (255, 0, 0)  # marker in the stored top-left corner
    stored = encode(tmp_path / "stored.mp4", frames, 30, "-pix_fmt", "yuv420p")
    phone = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(phone))
    info = media.probe(phone)
    assert info.rotation == 90 and (info.width, info.height) == (H, W)
    clip = media.load_video(phone)
    assert clip.frames.shape == (6, W, H, 3)
    expected = np.rot90(frames[0], 1)  # 90° counter-clockwise: the marker ends up bottom-left
    assert np.abs(clip.frames[0].astype(int) - expected).mean() < 3
    # ffmpeg's own display of the file agrees (independent of our size bookkeeping).
    ref = tmp_path / "ref.png"
    ffmpeg("-i", str(phone), "-frames:v", "1", str(ref))
    assert np.abs(clip.frames[0].astype(int) - media.load_image(ref)).mean() < 1


def test_variable_frame_rate_becomes_constant(tmp_path):
    frames = grey_frames(20)
    vfr = tmp_path / "vfr.mp4"
    # Irregular timestamps: frames alternately 0.05 s and 0.15 s apart (mean 10 fps).
    encode(vfr, frames, 10, "-vf", "setpts='(N*0.1+0.05*mod(N,2))/TB'", "-fps_mode", "vfr", "-pix_fmt", "yuv420p")
    clip = media.load_video(vfr, fps=20)
    assert clip.fps == 20
    info = media.probe(vfr)
    assert abs(len(clip) - info.duration * 20) <= 2
    means = clip.frames.reshape(len(clip), -1).mean(axis=1)
    assert np.all(np.diff(means) > -3)  # time runs forward
    assert means[0] < 30 and means[-1] > 200  # first and last frames are there


def test_browser_recording_without_duration(tmp_path):
    # MediaRecorder (webcam capture in the browser) writes WebM whose header has no duration.
    path = tmp_path / "webcam.webm"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate=30", "-f", "lavfi", "-i", "sine", "-t", "2",
           "-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-live", "1", "-f", "webm", str(path))
    info = media.probe(path)
    assert info.duration is None and info.kind == "video" and info.has_audio
    clip = media.load_video(path)
    assert clip.frames.shape == (60, H, W, 3) and clip.fps == 30
    assert clip.audio is not None and len(clip.audio) == 2 * media.SAMPLE_RATE


def test_non_square_pixels_are_stretched_for_display(tmp_path):
    path = encode(tmp_path / "anamorphic.mp4", grey_frames(3), 10, "-vf", "setsar=2", "-pix_fmt", "yuv420p")
    assert "SAR 2:1" in ffmpeg_header(path)
    info = media.probe(path)
    assert (info.width, info.height) == (2 * W, H)
    assert media.load_video(path).frames.shape == (3, H, 2 * W, 3)


def test_video_audio_track_matches_frames(tmp_path):
    wav = make_audio(tmp_path, "a.wav", 44100, "-c:a", "pcm_s16le", seconds=3.0)
    clip_path = encode(tmp_path / "talk.mp4", grey_frames(25), 10, "-pix_fmt", "yuv420p", "-c:a", "aac", audio=wav)
    clip = media.load_video(clip_path)
    assert len(clip) == 25
    assert clip.audio is not None and len(clip.audio) == round(clip.duration * media.SAMPLE_RATE)
    assert peak_frequency(clip.audio) == pytest.approx(440, abs=2)
    short = media.load_video(clip_path, max_frames=10)
    assert short.audio is not None and len(short.audio) == media.SAMPLE_RATE
    assert media.load_video(clip_path, with_audio=False).audio is None


def test_video_errors_are_clear(tmp_path):
    photo = tmp_path / "selfie.jpg"
    Image.fromarray(gradient()).save(photo)
    with pytest.raises(InputError, match="selfie.jpg is a still image, not a video clip: upload a video"):
        media.load_video(photo)
    still_gif = encode(tmp_path / "still.gif", grey_frames(1), 10)
    with pytest.raises(InputError, match="still image"):
        media.load_video(still_gif)
    wav = make_audio(tmp_path, "voice.wav", 16000, "-c:a", "pcm_s16le")
    with pytest.raises(InputError, match="voice.wav has no video track"):
        media.load_video(wav)
    garbage = tmp_path / "clip.mp4"
    garbage.write_bytes(b"\x00\x01junk" * 300)
    with pytest.raises(InputError, match="clip.mp4 is not a media file that can be read"):
        media.load_video(garbage)
    # An MP4 cut short before its index (moov at the end, as cameras write it).
    whole = encode(tmp_path / "whole.mp4", grey_frames(20), 10, "-pix_fmt", "yuv420p")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut.mp4 is not a media file that can be read \(.*moov atom not found"):
        media.load_video(cut)
    # Intact header, destroyed picture data: a clear message, not ffmpeg's internals.
    data = bytearray(media.write_video(tmp_path / "zeroed.mp4", gradient()[None].repeat(10, 0), 10).read_bytes())
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)
    (tmp_path / "zeroed.mp4").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"zeroed.mp4 has no decodable video frames \((?!\[)[^@]*\): upload"):
        media.load_video(tmp_path / "zeroed.mp4")


def test_iterating_frames_can_stop_early(tmp_path):
    path = encode(tmp_path / "clip.mp4", grey_frames(20), 10, "-pix_fmt", "yuv420p")
    gen = media.iter_video_frames(path)
    first = [next(gen) for _ in range(3)]
    gen.close()  # kills the decoder; must not hang or raise
    assert [int(f.mean()) for f in first] == pytest.approx([20, 30, 40], abs=5)


# ------------------------------------------------------------------------------------------ writer


def test_written_video_is_browser_playable_and_exactly_as_long_as_its_frames(tmp_path):
    n, fps = 37, 25.0
    frames = grey_frames(n)
    for audio_seconds in (0.5, 1.48, 4.0):  # shorter, equal to and longer than the picture
        out = tmp_path / f"out_{audio_seconds}.mp4"
        media.write_video(out, frames, fps, audio=sine(audio_seconds, media.SAMPLE_RATE))
        header = ffmpeg_header(out)
        assert "Video: h264" in header and "yuv420p" in header and "Audio: aac" in header
        assert media.video_duration(out) == pytest.approx(n / fps, abs=1 / fps)
        clip = media.load_video(out)
        assert len(clip) == n
        decoded = media.load_audio(out)
        assert abs(len(decoded) - n / fps * media.SAMPLE_RATE) <= media.SAMPLE_RATE / fps
        assert peak_frequency(decoded) == pytest.approx(440, abs=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out_0.5.mp4", "out_1.48.mp4", "out_4.0.mp4"]


def test_written_audio_stays_in_sync(tmp_path):
    audio = np.zeros(2 * media.SAMPLE_RATE, np.float32)
    start = media.SAMPLE_RATE  # a 10 ms beep exactly at 1.000 s (frame 25 at 25 fps)
    audio[start : start + 160] = 0.8 * np.sin(2 * np.pi * 1000 * np.arange(160) / media.SAMPLE_RATE)
    out = media.write_video(tmp_path / "sync.mp4", grey_frames(50), 25, audio=audio)
    decoded = media.load_audio(out)
    loud = np.flatnonzero(np.abs(decoded) > 0.2)
    assert abs(loud[0] - start) <= 16 and abs(loud[-1] - (start + 159)) <= 16  # within 1 ms


@pytest.mark.browser
def _in_chromium(page: Path, script: str) -> dict:
    """Open ``page`` in headless Chromium and return what ``script`` (a JS function) resolves to."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files"],
        )
        try:
            tab = browser.new_page()
            tab.goto(page.as_uri())
            return tab.evaluate(script)
        finally:
            browser.close()


def test_written_video_plays_in_chromium(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (50, 121, 161, 3), dtype=np.uint8)
    video = media.write_video(tmp_path / "clip.mp4", frames, 25, audio=sine(2.0, media.SAMPLE_RATE))
    page = tmp_path / "page.html"
    page.write_text('<video id="v" src="clip.mp4" muted></video>')
    script = """() => new Promise(done => {
      const v = document.getElementById("v");
      const go = async () => {
        try { await v.play(); } catch (e) { done({error: String(e)}); return; }
        setTimeout(() => done({duration: v.duration, width: v.videoWidth, height: v.videoHeight,
                               time: v.currentTime}), 400);
      };
      v.onerror = () => done({error: "media error " + (v.error && v.error.code)});
      if (v.error) done({error: "media error " + v.error.code});
      else if (v.readyState >= 1) go(); else v.onloadedmetadata = go;
    })"""
    result = _in_chromium(page, script)
    assert "error" not in result, result
    assert result["duration"] == pytest.approx(2.0, abs=0.04)
    assert (result["width"], result["height"]) == (162, 122)
    assert result["time"] > 0  # it actually plays
    assert video.exists()


def test_written_colours_show_in_chromium_as_they_were(tmp_path):
    # Saturated primaries, skin and greys in flat 32-px patches: a stream converted with one
    # matrix and decoded with another moves the primaries by 10-30 levels.
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [224, 172, 140],
                        [255, 255, 0], [0, 255, 255], [128, 128, 128], [30, 30, 30]], np.uint8)
    frame = np.repeat(np.repeat(colours.reshape(2, 4, 3), 32, 0), 32, 1)
    media.write_video(tmp_path / "colours.mp4", np.stack([frame] * 5), 25)
    page = tmp_path / "page.html"
    page.write_text('<video id="v" src="colours.mp4" muted></video><canvas id="c" width="128" height="64"></canvas>')
    script = """() => new Promise(done => {
      const v = document.getElementById("v");
      setTimeout(() => done({error: "no frame after 10 s, readyState " + v.readyState}), 10000);
      v.onerror = () => done({error: "media error " + (v.error && v.error.code)});
      v.onseeked = () => {
        try {
          const ctx = document.getElementById("c").getContext("2d");
          ctx.drawImage(v, 0, 0);
          const px = [];
          for (let y = 16; y < 64; y += 32) for (let x = 16; x < 128; x += 32)
            px.push(Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
          done({px});
        } catch (e) { done({error: String(e)}); }
      };
      if (v.readyState >= 2) v.currentTime = 0.1; else v.onloadeddata = () => { v.currentTime = 0.1; };
    })"""
    result = _in_chromium(page, script)
    assert "error" not in result, result
    shown = np.array(result["px"], int)
    assert np.abs(shown - colours.astype(int)).max() <= 6, shown.tolist()


def test_writer_pads_odd_sizes_and_keeps_colours(tmp_path):
    src = np.stack([gradient(65, 51)] * 5)
    out = media.write_video(tmp_path / "odd.mp4", src, 10)
    info = media.probe(out)
    assert (info.width, info.height) == (66, 52) and info.pix_fmt == "yuv420p" and not info.has_audio
    back = media.load_video(out)
    assert back.frames.shape == (5, 52, 66, 3)
    assert np.abs(back.frames[2, :51, :65].astype(int) - src[2]).mean() < 4


def test_writer_passes_x264_options(tmp_path):
    frames = np.stack([gradient()] * 3)
    plain = media.write_video(tmp_path / "plain.mp4", frames, 10, preset="veryfast").read_bytes()
    diamond = media.write_video(tmp_path / "dia.mp4", frames, 10, preset="veryfast", x264_params="me=dia").read_bytes()
    # x264 writes its settings into the stream: veryfast's own search is hexagonal
    assert b"me=hex" in plain and b"me=dia" in diamond


@pytest.mark.skipif(not Path("/proc/sys/fs/pipe-max-size").exists(), reason="Linux pipes")
def test_writer_pipe_holds_a_frame_up_to_the_systems_cap(tmp_path):
    import fcntl

    cap = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    with media.VideoWriter(tmp_path / "big.mp4", 10) as writer:
        writer.write(np.zeros((480, 640, 3), np.uint8))  # 460,800 bytes of YUV 4:2:0
        size = fcntl.fcntl(writer._proc.stdin.fileno(), fcntl.F_GETPIPE_SZ)
    assert size >= min(480 * 640 * 3 // 2, cap) and size > 65536  # the default: 64 kB


def test_result_encoder_keeps_fine_texture(tmp_path):
    """The pipeline's x264 settings keep more of a fine, moving texture (skin, lips) than veryfast's defaults."""
    from talkinghead.pipeline import ENCODER_PARAMS, ENCODER_PRESET

    rng = np.random.default_rng(0)
    texture = rng.normal(128, 6, (160, 200, 3))
    texture = (texture + np.roll(texture, 1, 0) + np.roll(texture, 1, 1)) / 3  # a little softer than pixel noise
    frames = np.stack([np.roll(texture, i, axis=1) for i in range(12)]).clip(0, 255).astype(np.uint8)

    def detail(params: str) -> float:  # high-frequency energy of the decoded frames over the source's
        out = media.write_video(tmp_path / "t.mp4", frames, 25, preset=ENCODER_PRESET, x264_params=params)
        back = media.load_video(out).frames.astype(float)
        return float(np.abs(np.diff(back, axis=2)).mean() / np.abs(np.diff(frames.astype(float), axis=2)).mean())

    ours, plain = detail(ENCODER_PARAMS), detail("me=dia")
    assert ours > plain + 0.04 and ours > 0.8, (ours, plain)


def test_writer_fractional_fps(tmp_path):
    out = media.write_video(tmp_path / "ntsc.mp4", grey_frames(30), 30000 / 1001)
    info = media.probe(out)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    assert media.video_duration(out) == pytest.approx(30 * 1001 / 30000, abs=1 / 30)


def test_writer_streams_an_iterator(tmp_path):
    alive: list[weakref.ref] = []
    max_alive = 0

    def frames():
        nonlocal max_alive
        for i in range(30):
            max_alive = max(max_alive, sum(r() is not None for r in alive))
            f = np.full((H, W, 3), i * 4, np.uint8)
            alive.append(weakref.ref(f))
            yield f

    out = media.write_video(tmp_path / "stream.mp4", frames(), 30)
    assert len(media.load_video(out)) == 30
    assert max_alive <= 2  # frames are released as soon as they are piped, not collected in a list


def test_writer_failures_leave_nothing_behind(tmp_path):
    def failing():
        yield from grey_frames(5)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        media.write_video(tmp_path / "a.mp4", failing(), 10, audio=sine(1.0, media.SAMPLE_RATE))
    with pytest.raises(RuntimeError, match="ffmpeg failed to encode"):
        media.write_video(tmp_path / "b.mp4", grey_frames(5), 10, preset="no-such-preset")
    with pytest.raises(ValueError, match="all frames must match"):
        media.write_video(tmp_path / "c.mp4", [grey_frames(1)[0], grey_frames(1, w=32)[0]], 10)
    with pytest.raises(ValueError, match="no frames"):
        media.write_video(tmp_path / "d.mp4", [], 10)
    with pytest.raises(ValueError, match="uint8"):
        media.write_video(tmp_path / "e.mp4", np.zeros((3, H, W, 3), np.float32), 10)
    assert list(tmp_path.iterdir()) == []

    # A failed rewrite keeps the previous file intact.
    keep = media.write_video(tmp_path / "keep.mp4", grey_frames(5), 10)
    before = keep.read_bytes()
    with pytest.raises(RuntimeError):
        media.write_video(keep, failing(), 10)
    assert keep.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mp4"]


# -------------------------------------------------------------------------------------- real media


def test_real_style_clip_and_audio(media_dir):
    clip = media.load_video(media_dir / "style_clips" / "sad_WDA_KatieHill_000.mp4", max_seconds=2.0)
    assert clip.frames.shape == (50, 512, 512, 3) and clip.fps == pytest.approx(25) and clip.truncated
    assert clip.audio is not None and len(clip.audio) == 2 * media.SAMPLE_RATE
    assert np.abs(clip.audio).max() > 0.01  # speech, not silence
    assert 40 < clip.frames.mean() < 220  # a real picture, not a black or white screen
    speech = media.load_audio(media_dir / "audio" / "em_echomimic_en.wav")
    assert abs(len(speech) / media.SAMPLE_RATE - 5.237) < 0.05
    portrait = media.load_image(media_dir / "portraits" / "lp_s22.jpg")
    assert portrait.shape == (700, 1050, 3)


def test_example_portrait(examples_dir):
    portrait = media.load_image(examples_dir / "portrait_astronaut.png")
    assert portrait.shape == (400, 400, 3)
    assert (examples_dir / "portrait_astronaut.png").stat().st_size < 500_000


def test_background_writing_keeps_order_and_bounds_what_waits():
    written: list[int] = []
    produced = 0
    most_ahead = 0

    def frames():
        nonlocal produced, most_ahead
        for i in range(40):
            produced += 1
            most_ahead = max(most_ahead, produced - len(written))
            yield i

    def write(i):
        time.sleep(0.001)  # a slow encoder: the producer runs ahead until the queue is full
        written.append(i)

    assert media.write_in_background(frames(), write, depth=4) == 40
    assert written == list(range(40))
    assert most_ahead <= 4 + 2  # the queue, the frame being written, the frame being put


def test_background_writing_raises_either_sides_error():
    written: list[int] = []

    def broken_encoder(i):
        if i == 3:
            raise RuntimeError("ffmpeg failed to encode the video")
        written.append(i)

    consumed = 0

    def frames():
        nonlocal consumed
        for i in range(1000):
            consumed += 1
            yield i

    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        media.write_in_background(frames(), broken_encoder, depth=2)
    assert written == [0, 1, 2] and consumed < 1000  # the producer stopped early

    def broken_renderer():
        yield 0
        raise ValueError("render failed")

    written.clear()
    with pytest.raises(ValueError, match="render failed"):
        media.write_in_background(broken_renderer(), written.append)
    assert written == [0]  # what was produced before the error was still handed over
