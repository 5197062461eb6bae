"""The Gradio app end to end through its HTTP API (gradio_client), on the real pipeline.

One app per module (models load once): ``build_demo(Pipeline(warp renderer, CPU))`` launched on a
free local port. Requests use a 2 s cut of the example speech, the example rap style clip, a
256-pixel output and few style-transfer steps, so the module stays around a minute on two CPU
cores. Every bad input has a test that checks the message the user is shown.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from talkinghead import metrics

pytestmark = pytest.mark.slow

FPS = 25
AUDIO_SECONDS = 2.0  # length of the test speech
MAX_AUDIO_SECONDS = 3.0  # the test app's cap: longer audio is trimmed with a warning
LONG_AUDIO_SECONDS = 3.6
SIZE = 256  # output size of the test videos
LABELS = ("None", "M", "R", "O")


# ---------------------------------------------------------------------------------------------
# helpers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Probe:
    duration: float  # container duration, seconds
    frames: int  # decoded video frames
    video: str  # the video stream line of `ffmpeg -i`
    audio: str | None  # the audio stream line, None without audio


def probe(path: str | Path) -> Probe:
    """Duration, frame count and stream descriptions from the ffmpeg binary of imageio-ffmpeg."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    info = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    m = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", info)
    assert m, f"no duration in ffmpeg's description of {path}:\n{info}"
    duration = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    video = re.search(r"Stream #0:\d+.*: Video: (.*)", info)
    audio = re.search(r"Stream #0:\d+.*: Audio: (.*)", info)
    assert video, f"no video stream in {path}:\n{info}"
    decode = subprocess.run(
        [exe, "-hide_banner", "-nostats", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert decode.returncode == 0, decode.stderr[-2000:]
    counts = re.findall(r"frame=\s*(\d+)", decode.stderr)
    frames = int(counts[-1]) if counts else -1
    return Probe(duration, frames, video[1], audio[1] if audio else None)


def check_video(path: str | Path | None, seconds: float, *, audio: bool = True) -> Probe:
    """A downloaded result video: H.264 yuv420p, ``seconds`` long at FPS, AAC audio when ``audio``."""
    assert path is not None and Path(path).is_file(), f"no video file at {path}"
    info = probe(path)
    assert info.video.startswith("h264") and "yuv420p" in info.video, info.video
    if audio:
        assert info.audio is not None and info.audio.startswith("aac"), info.audio
    assert abs(info.duration - seconds) <= 1.0 / FPS + 0.03, info.duration
    assert abs(info.frames - round(seconds * FPS)) <= 1, info.frames
    return info


def same_numbers(a: Any, b: Any, *, rel: float = 1e-9) -> bool:
    """Nested dicts/lists equal, floats to ``rel``: requests run at once may sum in another
    order (a last-bit difference), never give another request's numbers."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_numbers(a[k], b[k], rel=rel) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_numbers(x, y, rel=rel) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=rel, abs=1e-12)
    return a == b


def video_size(info: Probe) -> tuple[int, int]:
    m = re.search(r", (\d+)x(\d+)[, ]", info.video)
    assert m, info.video
    return int(m[1]), int(m[2])


def frame_digest(path: str | Path) -> str:
    """SHA-256 of all decoded frames of a video."""
    from talkinghead import media

    return hashlib.sha256(media.load_video(path, with_audio=False).frames.tobytes()).hexdigest()


@dataclass
class App:
    """The running app and what the tests need to look inside it."""

    url: str
    pipeline: Any
    temp_dir: Path  # tempfile's folder while the module runs: per-request files go here
    generate: Any = None  # the pipeline's own generate (the app calls a recording wrapper)
    workdirs: list[Path] = field(default_factory=list)  # workdir of every request the app made

    def client(self):
        from gradio_client import Client

        return Client(self.url, verbose=False)


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, examples_dir: Path) -> dict[str, Path]:
    """Every file the tests upload, good and bad."""
    from talkinghead import media

    d = tmp_path_factory.mktemp("inputs")
    portrait = examples_dir / "portrait_astronaut.png"
    style = examples_dir / "style_rap.mp4"
    ballad = examples_dir / "style_ballad.mp4"
    opera = examples_dir / "style_opera.mp4"
    for p in (portrait, style, ballad, opera):
        if not p.exists():
            pytest.fail(f"{p} is missing: run `python -m examples.make_style_clips`")
    speech = _speech(examples_dir, LONG_AUDIO_SECONDS + 0.5)
    rate = media.SAMPLE_RATE
    files = {
        "portrait": portrait,
        "style": style,
        "ballad": ballad,
        "opera": opera,
        "audio": media.save_wav(d / "speech_2s.wav", speech[: int(AUDIO_SECONDS * rate)]),
        "long_audio": media.save_wav(d / "speech_long.wav", speech[: int(LONG_AUDIO_SECONDS * rate)]),
        "silent_audio": media.save_wav(d / "silence.wav", np.zeros(2 * rate, np.float32)),
        "flat_portrait": media.save_image(d / "grey.png", np.full((256, 256, 3), 128, np.uint8)),
        "noise_portrait": media.save_image(
            d / "noise.png", np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
        ),
    }
    image = media.load_image(portrait)
    # The portrait shrunk until its face is ~8 px tall (refused) and ~45 px tall (a warning).
    for name, side in (("tiny_face", 40), ("small_face", 200)):
        files[name] = media.save_image(d / f"{name}.png", cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA))
    files["two_faces"] = media.save_image(d / "two_faces.png", np.concatenate([image, image], axis=1))
    # Damaged files: a PNG/WAV/MP4 signature followed by junk.
    files["corrupt_portrait"] = d / "damaged.png"
    files["corrupt_portrait"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    files["corrupt_audio"] = d / "damaged.wav"
    files["corrupt_audio"].write_bytes(b"RIFF" + bytes(range(256)) * 8)
    files["corrupt_style"] = d / "damaged.mp4"
    files["corrupt_style"].write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16)
    # A style clip without any face: two seconds of a slowly changing grey.
    frames = np.stack([np.full((128, 128, 3), 60 + 3 * i, np.uint8) for i in range(2 * FPS)])
    files["faceless_style"] = media.write_video(d / "no_face.mp4", frames, FPS)
    return files


def _speech(examples_dir: Path, seconds: float) -> np.ndarray:
    """At least ``seconds`` of speech: the example recording, else espeak-ng."""
    from talkinghead import media, speech

    path = examples_dir / "speech_en.wav"
    if path.exists():
        wav = media.load_audio(path)
    else:
        if not speech.available():
            pytest.skip("neither examples/speech_en.wav nor espeak-ng is available for test speech")
        wav = speech.synthesize("Hello there. This is a short test of the talking head app, with some speech.").audio
    repeats = int(math.ceil(seconds * media.SAMPLE_RATE / len(wav)))
    return np.tile(wav, repeats)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app on the real pipeline, launched once for the module and closed at the end."""
    from app import build_demo
    from talkinghead.pipeline import Pipeline, PipelineConfig

    temp_dir = tmp_path_factory.mktemp("tempdir")
    saved = tempfile.tempdir
    tempfile.tempdir = str(temp_dir)  # per-request folders land here, where the tests can see them
    demo = None
    try:
        pipeline = Pipeline(PipelineConfig(renderer="warp", device="cpu", max_audio_seconds=MAX_AUDIO_SECONDS))
        generate = pipeline.generate
        state = App(url="", pipeline=pipeline, temp_dir=temp_dir, generate=generate)

        def recording_generate(*args, **kwargs):
            state.workdirs.append(Path(kwargs["workdir"]))
            return generate(*args, **kwargs)

        pipeline.generate = recording_generate  # this instance only
        demo = build_demo(pipeline)
        port = _free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=True)
        state.url = f"http://127.0.0.1:{port}/"
        yield state
    finally:
        if demo is not None:
            demo.close()
        tempfile.tempdir = saved


@pytest.fixture(scope="module")
def client(app: App):
    return app.client()


def generate_args(inputs: dict[str, Path], *, audio: str = "audio", style: str = "style", seed: int = 0,
                  steps: int = 0, strength: float = 1.0) -> list:
    """The eleven inputs of /generate, files wrapped for upload."""
    from gradio_client import handle_file

    return [
        handle_file(str(inputs["portrait"])),
        handle_file(str(inputs[audio])),
        handle_file(str(inputs[style])),
        strength,  # style strength
        1.0,  # head motion
        True,  # blinks
        steps,  # style-transfer steps
        FPS,
        SIZE,
        "warp",
        seed,
    ]


@dataclass(frozen=True)
class Generated:
    refs: list[dict]
    isps: list[dict]
    plot: Any
    table: dict
    video: str
    side: str | None
    report: dict
    status: str


def run_generate(client, args: list) -> Generated:
    refs, isps, plot, table, video, side, report, status = client.predict(*args, api_name="/generate")
    return Generated(refs, isps, plot, table, video, side, json.loads(Path(report).read_text()), status)


@pytest.fixture(scope="module")
def generated(app: App, client, inputs) -> Generated:
    """One ordinary request (2 s of speech, the rap clip, seed 0, a few transfer steps)."""
    return run_generate(client, generate_args(inputs, steps=2))


def app_error(call) -> str:
    """The message a failing request shows (gradio_client raises it as an AppError)."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        call()
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# the API


def test_api_names_and_inputs(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/analyse", "/generate", "/compare"} <= set(endpoints)
    labels = [p["label"] for p in endpoints["/generate"]["parameters"]]
    assert labels[:3] == ["Portrait", "Audio (speech or singing)", "Style clip"]
    assert len(labels) == 12 and labels[-1] == "Framing"
    framing = endpoints["/generate"]["parameters"][-1]
    assert framing["parameter_has_default"] and framing["parameter_default"] == "full"  # older calls still work


def _check_gallery(gallery: list[dict], prefix: str) -> None:
    from PIL import Image

    assert all(item["caption"].startswith(prefix) for item in gallery), gallery
    assert [item["caption"].removeprefix(prefix).split(" ")[0] for item in gallery] == list(LABELS)
    for item in gallery:
        with Image.open(item["image"]) as im:
            assert im.size == (512, 512)
            pixels = np.asarray(im.convert("RGB"))
        assert pixels.std() > 10, f"{item['caption']} is a blank image"


def test_analyse_shows_four_references_and_four_isps(client, inputs):
    from gradio_client import handle_file

    refs, isps, status = client.predict(
        handle_file(str(inputs["portrait"])), handle_file(str(inputs["style"])), "warp", api_name="/analyse"
    )
    _check_gallery(refs, "")
    _check_gallery(isps, "ISP ")
    times = [float(re.search(r"t=([\d.]+)s", r["caption"])[1]) for r in refs]
    assert len(set(times)) == 4, f"the four references are not four distinct frames: {times}"
    assert all(0.0 <= t <= 10.0 for t in times)
    assert "`warp`" in status


def test_generate_returns_video_metrics_and_report(generated: Generated):
    _check_gallery(generated.refs, "")
    _check_gallery(generated.isps, "ISP ")
    n_frames = round(AUDIO_SECONDS * FPS)

    info = check_video(generated.video, AUDIO_SECONDS)
    assert max(video_size(info)) == SIZE, info.video
    side = check_video(generated.side, AUDIO_SECONDS)
    assert video_size(side)[1] == video_size(info)[1] and video_size(side)[0] > video_size(info)[0], side.video

    assert generated.plot is not None and generated.plot["type"] == "matplotlib"
    assert generated.plot["plot"].startswith("data:image/")

    rows = {row[0]: row for row in generated.table["data"]}
    assert generated.table["headers"] == ["metric", "clip", "before", "after", "change"]
    style_rows = {f"{m}{s} (lower: closer)" for m in ("SLD", "SLV", "SMD") for s in ("", " + head motion")}
    statistic_rows = {label: key for key, label in metrics.REQUEST_STATISTICS}
    assert set(rows) == style_rows | set(statistic_rows)
    report = generated.report
    assert report["renderer"] == "warp" and report["fps"] == FPS
    assert abs(report["frames"] - n_frames) <= 1
    assert [r["label"] for r in report["references"]] == list(LABELS)
    for label in style_rows:
        row = rows[label]
        name, suffix = label[:3], "_with_head" if "head motion" in label else ""
        for when, value in (("before", row[2]), ("after", row[3])):
            assert math.isfinite(value) and value >= 0
            assert value == pytest.approx(report["metrics"][when + suffix][name], abs=1e-4)
        assert row[4].endswith("%")
    for label, key in statistic_rows.items():  # "mouth opening, p90: clip 0.31, before 0.18, after 0.29"
        row = rows[label]
        for view, value in zip(("clip", "before", "after"), row[1:4], strict=True):
            assert value == pytest.approx(report["style_statistics"][view][key], abs=1e-3)
    label = dict(metrics.REQUEST_STATISTICS)
    assert rows[label["yaw_std"]][2] == pytest.approx(0.0, abs=1e-6)  # a still head before the transfer
    assert rows[label["open_p90"]][3] > rows[label["open_p50"]][3] >= 0
    assert "`warp`" in generated.status and "style_transfer" in generated.status


@pytest.mark.parametrize(("framing", "size", "expected"), [("face", 0, (512, 512)), ("full", 0, (400, 400))])
def test_framing_through_the_api(client, inputs, framing, size, expected):
    """Size 0 is "as the input": the example portrait's own 400² for the whole portrait, the
    512² crop for the face."""
    args = generate_args(inputs)
    args[8] = size
    result = run_generate(client, [*args, framing])
    assert video_size(check_video(result.video, AUDIO_SECONDS)) == expected


def test_request_folder_is_removed(app: App, generated: Generated):
    assert app.workdirs, "Pipeline.generate was never called"
    for workdir in app.workdirs:
        assert workdir.is_relative_to(app.temp_dir), f"{workdir} is not under the temp folder"
        assert not workdir.exists(), f"{workdir} was left behind"
    assert not list(app.temp_dir.glob("talkinghead-*")), list(app.temp_dir.iterdir())
    # The result files were handed to Gradio before the folder went away.
    assert Path(generated.video).stat().st_size > 10_000


def test_a_request_whose_client_goes_away_leaves_nothing_behind(app: App, inputs):
    """The client cancels and disconnects while the video renders: the request folder still goes."""
    import time

    client = app.client()
    job = client.submit(*generate_args(inputs, audio="long_audio", steps=40), api_name="/generate")
    deadline = time.monotonic() + 120
    while not list(app.temp_dir.glob("talkinghead-request-*")):
        assert time.monotonic() < deadline and not job.done(), "the request never started generating"
        time.sleep(0.05)
    job.cancel()
    client.close()
    while list(app.temp_dir.glob("talkinghead-*")):
        assert time.monotonic() < deadline, list(app.temp_dir.glob("talkinghead-*"))
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# compare styles


def compare_args(inputs: dict[str, Path], styles: list[str | None]) -> list:
    """The eight inputs of /compare: portrait, audio, three style clips (None = empty), strength,
    head motion, seed."""
    from gradio_client import handle_file

    clips = [handle_file(str(inputs[s])) if s else None for s in styles]
    return [handle_file(str(inputs["portrait"])), handle_file(str(inputs["audio"])), *clips, 1.0, 1.0, 0]


def test_compare_three_styles_returns_three_videos_and_a_grid(app: App, client, inputs):
    before = len(app.workdirs)
    *videos, grid, table = client.predict(*compare_args(inputs, ["ballad", "style", "opera"]), api_name="/compare")
    assert len(app.workdirs) == before + 3
    infos = [check_video(v, AUDIO_SECONDS) for v in videos]
    assert len({frame_digest(v) for v in videos}) == 3, "the three styles gave identical videos"
    grid_info = check_video(grid, AUDIO_SECONDS)
    grid_w, grid_h = video_size(grid_info)
    widths = [video_size(i)[0] for i in infos]
    assert grid_h == min(video_size(i)[1] for i in infos) and abs(grid_w - sum(widths)) <= 6, (grid_w, widths)
    assert table["headers"] == ["style clip", "SLD", "SLV", "SMD"]
    assert [row[0] for row in table["data"]] == ["A: style_ballad", "B: style_rap", "C: style_opera"]
    assert all(math.isfinite(v) and v >= 0 for row in table["data"] for v in row[1:])
    for workdir in app.workdirs[before:]:
        assert not workdir.exists(), f"{workdir} was left behind"
    assert not list(app.temp_dir.glob("talkinghead-*")), list(app.temp_dir.iterdir())


def test_compare_with_one_style_clip(client, inputs):
    a, b, c, grid, table = client.predict(*compare_args(inputs, [None, "opera", None]), api_name="/compare")
    assert a is not None and b is None and c is None
    check_video(a, AUDIO_SECONDS)
    check_video(grid, AUDIO_SECONDS)
    assert [row[0] for row in table["data"]] == ["B: style_opera"]


def test_compare_names_the_style_clip_without_a_face(app: App, client, inputs):
    msg = app_error(lambda: client.predict(*compare_args(inputs, ["style", "faceless_style", None]),
                                           api_name="/compare"))
    assert msg.startswith("Style clip B: No face found") and "style clip" in msg, msg
    assert not list(app.temp_dir.glob("talkinghead-*")), list(app.temp_dir.iterdir())


def test_compare_without_style_clips(client, inputs):
    msg = app_error(lambda: client.predict(*compare_args(inputs, [None, None, None]), api_name="/compare"))
    assert "Upload a style clip" in msg


# ---------------------------------------------------------------------------------------------
# ZeroGPU reservation


def test_gpu_budget_grows_with_the_request():
    from app import GPU_BUDGET, GpuBudget

    def seconds(**kw) -> int:
        request = {"audio_seconds": 5.0, "steps": 40, "renderer": "warp", "clips": 1} | kw
        return GPU_BUDGET.seconds(**request)

    short, long = seconds(audio_seconds=5), seconds(audio_seconds=30)
    assert (short, long, seconds(audio_seconds=30, clips=3)) == (35, 65, 165)  # as the README says
    b = GpuBudget()
    warp = dict(b.render_s)["warp"]
    assert long - short == pytest.approx(b.margin * 25 * warp, abs=1)  # 25 s more audio
    assert seconds(steps=200) - seconds(steps=40) == pytest.approx(b.margin * 160 * b.step_s, abs=1)
    assert seconds(clips=3) - seconds(clips=1) == pytest.approx(2 * (seconds(clips=2) - seconds(clips=1)), abs=1)
    assert seconds(renderer="liveportrait") > seconds(renderer="warp")
    assert seconds(audio_seconds=30, clips=3, renderer="liveportrait") <= b.max_seconds
    assert seconds(audio_seconds=0, steps=0) >= b.margin * (b.start_s + b.style_clip_s) - 1


@pytest.fixture
def zero_gpu_demo(app: App, monkeypatch):
    """The app's handlers as a ZeroGPU Space runs them, with a stand-in ``spaces`` package that
    records each reservation and runs nothing; returns ``(handlers by api name, reservations)``."""
    import sys
    import types

    import app as app_module

    reservations: list[int] = []

    def gpu(duration):
        def decorate(fn):
            def run(*args, **kwargs):
                reservations.append(duration(*args, **kwargs))
                yield from ()

            return run

        return decorate

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    demo = app_module.build_demo(app.pipeline)
    handlers = {f.api_name: f.fn for f in demo.fns.values() if f.api_name}
    return handlers, reservations


def test_zero_gpu_reservation_follows_the_audio_and_clips(zero_gpu_demo, inputs):
    from app import GPU_BUDGET

    handlers, reserved = zero_gpu_demo
    common = [str(inputs["portrait"])]

    def generate(audio: str, steps: int = 40) -> None:
        args = [*common, str(inputs[audio]), str(inputs["style"]), 1.0, 1.0, True, steps, FPS, SIZE, "warp", 0]
        assert list(handlers["generate"](*args)) == []

    generate("audio")
    generate("long_audio")  # 3.6 s, used up to the app's 3 s cap
    generate("audio", steps=200)
    expected = [GPU_BUDGET.seconds(audio_seconds=a, steps=s, renderer="warp") for a, s in
                ((AUDIO_SECONDS, 40), (MAX_AUDIO_SECONDS, 40), (AUDIO_SECONDS, 200))]
    assert reserved == expected and reserved[0] < reserved[1] < reserved[2], reserved

    styles = [str(inputs["style"]), str(inputs["ballad"]), None]
    assert list(handlers["compare"](*common, str(inputs["audio"]), *styles, 1.0, 1.0, 0)) == []
    assert reserved[-1] == GPU_BUDGET.seconds(audio_seconds=AUDIO_SECONDS, steps=40, renderer="warp", clips=2)


def test_zero_gpu_refuses_a_request_that_cannot_fit(zero_gpu_demo, inputs, monkeypatch):
    import gradio as gr

    import app as app_module

    handlers, reserved = zero_gpu_demo
    monkeypatch.setattr(app_module, "GPU_BUDGET", app_module.GpuBudget(max_seconds=30))
    args = [str(inputs["portrait"]), str(inputs["audio"]), str(inputs["style"]), 1.0, 1.0, True, 200, FPS, SIZE,
            "warp", 0]
    with pytest.raises(gr.Error) as info:
        list(handlers["generate"](*args))
    assert "more than the 30 s a ZeroGPU Space grants" in str(info.value)
    assert "shorter audio, fewer style-transfer steps or fewer style clips" in str(info.value)
    assert reserved == []  # refused before a device was asked for


# ---------------------------------------------------------------------------------------------
# bad inputs: the message the user sees


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("portrait", "Upload a portrait photo"),
        ("audio", "Upload or record an audio clip"),
        ("style", "Upload a style clip"),
    ],
)
def test_missing_input(client, inputs, missing, message):
    args = generate_args(inputs)
    args[["portrait", "audio", "style"].index(missing)] = None
    assert message in app_error(lambda: client.predict(*args, api_name="/generate"))


def test_analyse_without_style_clip(client, inputs):
    from gradio_client import handle_file

    msg = app_error(lambda: client.predict(handle_file(str(inputs["portrait"])), None, "warp", api_name="/analyse"))
    assert "Upload a style clip" in msg


def _analyse_error(client, portrait: Path, style: Path) -> str:
    from gradio_client import handle_file

    return app_error(
        lambda: client.predict(handle_file(str(portrait)), handle_file(str(style)), "warp", api_name="/analyse")
    )


@pytest.mark.parametrize("name", ["flat_portrait", "noise_portrait"])
def test_portrait_without_face(client, inputs, name):
    msg = _analyse_error(client, inputs[name], inputs["style"])
    assert "No face found" in msg and "upload an image where one human face is clearly visible" in msg


def test_monkey_portrait_has_no_human_face(client, inputs, media_dir: Path):
    msg = _analyse_error(client, media_dir / "portraits" / "lp_s22.jpg", inputs["style"])
    assert "No human face found" in msg and "looks like an animal" in msg


def test_tiny_face_is_refused_and_a_small_one_warned(client, inputs):
    from gradio_client import handle_file

    msg = _analyse_error(client, inputs["tiny_face"], inputs["style"])
    assert "too small to animate" in msg and "at least 64 px tall" in msg
    _, _, status = client.predict(
        handle_file(str(inputs["small_face"])), handle_file(str(inputs["style"])), "warp", api_name="/analyse"
    )
    assert "px tall (brows to chin), so the result will look blurry" in status


def test_damaged_portrait(client, inputs):
    msg = _analyse_error(client, inputs["corrupt_portrait"], inputs["style"])
    assert "damaged.png" in msg and "upload a JPEG, PNG, WebP or BMP photo" in msg


def test_several_faces_warn_and_still_work(client, inputs):
    from gradio_client import handle_file

    refs, isps, status = client.predict(
        handle_file(str(inputs["two_faces"])), handle_file(str(inputs["style"])), "warp", api_name="/analyse"
    )
    assert "2 faces; the largest one is animated" in status
    assert len(refs) == 4 and len(isps) == 4


def test_style_clip_without_face(client, inputs):
    msg = _analyse_error(client, inputs["portrait"], inputs["faceless_style"])
    assert "No face found" in msg and "style clip" in msg


def test_style_clip_that_is_a_still_image(client, inputs):
    msg = _analyse_error(client, inputs["portrait"], inputs["flat_portrait"])
    assert "is a still image, not a video clip" in msg and "upload a video" in msg


def test_damaged_style_clip(client, inputs):
    msg = _analyse_error(client, inputs["portrait"], inputs["corrupt_style"])
    assert "damaged.mp4" in msg and "upload a video of someone talking or singing" in msg


def test_damaged_audio(client, inputs):
    msg = app_error(lambda: client.predict(*generate_args(inputs, audio="corrupt_audio"), api_name="/generate"))
    assert "damaged.wav" in msg and "upload a speech or song recording" in msg


def test_silent_audio_is_refused_and_leaves_nothing_behind(app: App, client, inputs):
    before = len(app.workdirs)
    msg = app_error(lambda: client.predict(*generate_args(inputs, audio="silent_audio"), api_name="/generate"))
    assert "the audio is silent" in msg and "upload a speech or song recording" in msg
    assert len(app.workdirs) == before  # refused before the pipeline's slow stages start
    assert not list(app.temp_dir.glob("talkinghead-*"))


def test_long_audio_is_trimmed_with_a_warning(client, inputs):
    result = run_generate(client, generate_args(inputs, audio="long_audio"))
    warning = f"The audio is longer than {MAX_AUDIO_SECONDS:g} s; only the first {MAX_AUDIO_SECONDS:g} s are used."
    assert warning in result.status
    assert warning in result.report["warnings"]
    info = probe(result.video)
    assert abs(info.duration - MAX_AUDIO_SECONDS) <= 1.0 / FPS, info.duration
    assert abs(info.frames - round(MAX_AUDIO_SECONDS * FPS)) <= 1


# ---------------------------------------------------------------------------------------------
# four users at once


def test_simultaneous_requests_match_sequential_ones(app: App, inputs, generated: Generated):
    """Four users generating at once with different inputs (and a fifth analysing) get exactly
    what each gets alone."""
    from gradio_client import handle_file

    requests = {
        "a": generate_args(inputs, steps=2),  # as `generated`
        "b": generate_args(inputs, style="ballad", seed=1, steps=2, strength=1.5),
        "c": generate_args(inputs, style="opera", seed=2, steps=3, strength=0.5),
        "d": generate_args(inputs, audio="long_audio", seed=3, steps=2),
    }
    alone = {"a": generated} | {k: run_generate(app.client(), requests[k]) for k in "bcd"}

    results: dict[str, Any] = {}

    def user(name: str, call) -> None:
        try:
            results[name] = call(app.client())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    calls = {k: (lambda c, r=r: run_generate(c, r)) for k, r in requests.items()}
    calls["analyse"] = lambda c: c.predict(
        handle_file(str(inputs["portrait"])), handle_file(str(inputs["ballad"])), "warp", api_name="/analyse"
    )
    threads = [threading.Thread(target=user, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    errors = {k: v for k, v in results.items() if isinstance(v, Exception)}
    assert not errors and len(results) == 5, errors or results

    digests = {}
    for name in requests:
        together = results[name]
        assert same_numbers(together.report["metrics"], alone[name].report["metrics"]), name
        assert together.report["references"] == alone[name].report["references"], name
        assert same_numbers(together.table, alone[name].table), name
        digests[name] = frame_digest(together.video)
        assert digests[name] == frame_digest(alone[name].video), name
    assert len(set(digests.values())) == 4, "different requests gave the same video"
    assert [r["caption"] for r in results["analyse"][0]] == [r["caption"] for r in alone["b"].refs]
    assert not list(app.temp_dir.glob("talkinghead-*"))


def test_an_image_shown_to_two_requests_is_never_read_half_written(monkeypatch, tmp_path):
    """Two requests with the same style clip show the same reference images. The file one browser
    is downloading is not rewritten by the other request: every read while the second request
    hands the image over returns it whole (Gradio's own array-to-cache step rewrote the file in
    place, and about one read in 150 came back short)."""
    import time

    from app import cached_image

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    image = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    path = cached_image(image)
    whole = Path(path).read_bytes()
    assert cv2.imdecode(np.frombuffer(whole, np.uint8), cv2.IMREAD_COLOR).shape == image.shape

    stop = time.monotonic() + 0.5
    again: list[str] = []

    def other_request() -> None:
        while time.monotonic() < stop:
            again.append(cached_image(image))

    thread = threading.Thread(target=other_request)
    thread.start()
    reads = [Path(path).read_bytes() for _ in iter(lambda: time.monotonic() < stop, False)]
    thread.join()
    assert len(reads) > 1000 and len(again) > 10
    assert set(again) == {path}
    assert sum(r != whole for r in reads) == 0
    assert [p.name for p in Path(path).parent.iterdir()] == ["image.webp"]  # no staging file left


def test_pipeline_requests_in_parallel_threads(app: App, inputs, tmp_path):
    """The shared Pipeline itself, called from two threads at once, gives the sequential results."""
    from talkinghead.pipeline import RequestOptions

    opts = {
        "a": (inputs["style"], RequestOptions(steps=2, seed=0, output_size=128, side_by_side=False)),
        "b": (inputs["ballad"], RequestOptions(steps=2, seed=1, strength=1.5, output_size=128, side_by_side=False)),
    }

    def run(name: str, where: str):
        style, options = opts[name]
        return app.generate(
            str(inputs["portrait"]), str(inputs["audio"]), str(style), options, workdir=tmp_path / where / name
        )

    alone = {name: run(name, "alone") for name in opts}
    together: dict[str, Any] = {}

    def worker(name: str) -> None:
        try:
            together[name] = run(name, "together")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            together[name] = exc

    threads = [threading.Thread(target=worker, args=(name,)) for name in opts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert all(not isinstance(v, Exception) for v in together.values()) and len(together) == 2, together
    for name in opts:
        assert same_numbers(together[name].metrics, alone[name].metrics), name
        np.testing.assert_allclose(together[name].phi_styled, alone[name].phi_styled, rtol=1e-6, atol=1e-7)
        assert frame_digest(together[name].video_path) == frame_digest(alone[name].video_path)


def test_queue_runs_four_at_once_and_holds_twelve(app: App, inputs, monkeypatch):
    """Four requests run at once and twelve more wait with their place in the queue shown; the
    seventeenth is refused as the queue is full. (The pipeline's analysis is held until the end
    so that the queue fills. The first four are let start before the twelve are sent: the queue's
    bound counts the requests not yet started, so sixteen sent in one burst may find all sixteen
    still waiting.)"""
    import time

    from gradio_client.exceptions import AppError
    from gradio_client.utils import Status

    from talkinghead.errors import InputError

    release = threading.Event()
    running = []

    def held_analyse(*args, **kwargs):
        running.append(threading.get_ident())
        release.wait(timeout=120)
        raise InputError("stopped by the test")

    monkeypatch.setattr(app.pipeline, "analyse", held_analyse)
    client = app.client()
    jobs = []
    try:
        for _ in range(4):
            jobs.append(client.submit(*generate_args(inputs), api_name="/generate"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(running) < 4:
            time.sleep(0.1)
        for _ in range(12):
            jobs.append(client.submit(*generate_args(inputs), api_name="/generate"))

        def states() -> tuple[list, list]:
            now = [j.status() for j in jobs]
            return [s for s in now if s.code == Status.PROCESSING], [s for s in now if s.code == Status.IN_QUEUE]

        deadline = time.monotonic() + 60
        processing, waiting = states()
        while time.monotonic() < deadline and not (
            len(running) == 4 and sorted(w.rank for w in waiting) == list(range(12))
        ):
            time.sleep(0.2)
            processing, waiting = states()
        assert len(running) == 4 and len(processing) == 4, f"{len(running)} requests run at once"
        # Each waiting request is told its place: 0 (next) … 11, of 12.
        assert sorted(w.rank for w in waiting) == list(range(12)), [(w.code, w.rank) for w in waiting]

        seventeenth = client.submit(*generate_args(inputs), api_name="/generate")
        with pytest.raises(Exception, match="Queue is full"):
            seventeenth.result(timeout=60)
    finally:
        release.set()
    for job in jobs:
        with pytest.raises(AppError, match="stopped by the test"):
            job.result(timeout=120)
    assert len(running) == 16
    assert not list(app.temp_dir.glob("talkinghead-*"))
