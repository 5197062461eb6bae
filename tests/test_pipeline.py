"""End to end on the examples: portrait + audio + style clip → playable mp4, metrics, no shared state."""

from __future__ import annotations

import json
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from talkinghead import media, runtime
from talkinghead.commands.generate import ProgressBar
from talkinghead.errors import InputError
from talkinghead.pipeline import Pipeline, PipelineConfig, RequestOptions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(PipelineConfig(renderer="warp", device="cpu", max_audio_seconds=3.0))


@pytest.fixture(scope="module")
def inputs(examples_dir, tmp_path_factory):
    """The example portrait, 2.5 s of the example speech and the example ballad clip."""
    tmp = tmp_path_factory.mktemp("inputs")
    wav = media.load_audio(examples_dir / "speech_en.wav")[: int(2.5 * media.SAMPLE_RATE)]
    audio = tmp / "speech.wav"
    media.save_wav(audio, wav)
    return examples_dir / "portrait_astronaut.png", audio, examples_dir / "style_ballad.mp4"


def _streams(path) -> str:
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True)
    return proc.stderr.decode(errors="replace")


def test_generate_writes_a_playable_video_matching_the_audio(pipeline, inputs, tmp_path):
    portrait, audio, style = inputs
    stages = []
    res = pipeline.generate(
        portrait,
        audio,
        style,
        RequestOptions(steps=10, seed=1),
        workdir=tmp_path,
        progress=lambda s, f: stages.append(s),
    )
    info = _streams(res.video_path)
    assert "h264" in info and "yuv420p" in info and "aac" in info
    rendering = [s for s in stages if s.startswith("rendering: ")]  # seconds rendered of the total
    assert rendering[0] == "rendering: 0.6 s of 2.5 s" and rendering[-1] == "rendering: 2.5 s of 2.5 s", rendering
    duration = media.video_duration(res.video_path)
    assert abs(duration - 2.5) <= 1 / res.fps + 1e-6
    assert len(res.phi_styled) == len(res.phi_mg) == round(2.5 * res.fps)
    assert [r.label for r in res.references] == ["None", "M", "R", "O"]
    assert len(res.isps) == 4 and all(i.shape == (512, 512, 3) and i.dtype == np.uint8 for i in res.isps)
    assert set(res.metrics) == {"before", "after", "before_with_head", "after_with_head"}
    assert all(set(m) == {"SLD", "SLV", "SMD"} for m in res.metrics.values())
    assert res.side_by_side_path is not None and res.side_by_side_path.exists()
    assert {"style references", "style transfer", "rendering", "done"} <= set(stages)
    assert json.loads(json.dumps(res.summary()))["frames"] == len(res.phi_styled)
    assert res.renderer == "warp"


def test_strength_zero_is_the_unstyled_motion_and_weights_stay_shared(pipeline, inputs, tmp_path):
    portrait, audio, style = inputs
    before = {k: v.clone() for k, v in pipeline.motion_generator.state_dict().items()}
    preview = pipeline.analyse(portrait, style)
    res = pipeline.generate(
        portrait, audio, style, RequestOptions(strength=0.0, side_by_side=False), workdir=tmp_path, preview=preview
    )
    np.testing.assert_array_equal(res.phi_styled, res.phi_mg)
    styled = pipeline.generate(
        portrait, audio, style, RequestOptions(steps=10, side_by_side=False), workdir=tmp_path / "b", preview=preview
    )
    assert not np.allclose(styled.phi_styled, styled.phi_mg)
    for k, v in pipeline.motion_generator.state_dict().items():
        assert torch.equal(v, before[k]), f"shared motion generator weight {k} changed"


def test_seeded_runs_are_identical(pipeline, inputs, tmp_path):
    portrait, audio, style = inputs
    preview = pipeline.analyse(portrait, style)
    opts = RequestOptions(steps=10, seed=7, side_by_side=False)
    a = pipeline.generate(portrait, audio, style, opts, workdir=tmp_path / "a", preview=preview)
    b = pipeline.generate(portrait, audio, style, opts, workdir=tmp_path / "b", preview=preview)
    np.testing.assert_array_equal(a.phi_styled, b.phi_styled)
    np.testing.assert_array_equal(a.targets.rotation, b.targets.rotation)
    np.testing.assert_array_equal(media.load_video(a.video_path).frames, media.load_video(b.video_path).frames)


def test_long_audio_is_trimmed_with_a_warning(pipeline, inputs, examples_dir, tmp_path):
    portrait, _, style = inputs
    res = pipeline.generate(
        portrait, examples_dir / "speech_en.wav", style, RequestOptions(steps=0, side_by_side=False), workdir=tmp_path
    )
    assert any("longer than 3 s" in w for w in res.warnings)
    assert len(res.phi_styled) == 3 * res.fps


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"fps": 7}, "fps"), ({"strength": 9.0}, "strength"), ({"steps": -1}, "steps"), ({"output_size": 10}, "size")],
)
def test_bad_options_say_what_is_wrong(kwargs, message):
    with pytest.raises(InputError, match=message):
        RequestOptions(**kwargs)


def test_generate_command_states_the_default_steps():
    import argparse

    from talkinghead.commands.generate import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    (steps,) = [a for a in parser._actions if a.dest == "steps"]
    assert f"default {RequestOptions.steps}" in steps.help


def test_progress_bar_prints_stages(capsys):
    bar = ProgressBar()
    bar("rendering", 0.5)
    bar.close()
    assert "50.0% rendering" in capsys.readouterr().err


def test_generate_command_writes_video_and_json(inputs, tmp_path, capsys):
    from talkinghead.cli import main

    portrait, audio, style = inputs
    out = tmp_path / "out.mp4"
    argv = ["generate", "--portrait", str(portrait), "--audio", str(audio), "--style", str(style)]
    rc = main([*argv, "-o", str(out), "--renderer", "warp", "--device", "cpu", "--steps", "5"])
    assert rc == 0 and out.exists()
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["renderer"] == "warp" and [r["label"] for r in summary["references"]] == ["None", "M", "R", "O"]
    assert abs(media.video_duration(out) - 2.5) <= 1 / 25 + 1e-6
    printed = capsys.readouterr().out
    assert "SLD:" in printed and "wrote" in printed
    assert main([*argv, "-o", str(out), "--strength", "-1"]) == 2  # a bad option is a message, not a traceback


@pytest.mark.parametrize("failure", [KeyboardInterrupt, InputError])
def test_generate_command_leaves_nothing_when_stopped(inputs, tmp_path, monkeypatch, capsys, failure):
    """Ctrl-C (or a failure) after the request has written into its folder: no folder, no output."""
    import tempfile
    from pathlib import Path

    from talkinghead import pipeline as pipeline_module
    from talkinghead.cli import main

    def stopped(self, *args, workdir, **kwargs):
        (Path(workdir) / "result.mp4").write_bytes(b"half a video")
        raise failure("the audio could not be read") if failure is InputError else failure()

    monkeypatch.setattr(pipeline_module.Pipeline, "generate", stopped)
    before = set(Path(tempfile.gettempdir()).glob("talkinghead-cli-*"))
    portrait, audio, style = inputs
    out = tmp_path / "out" / "clip.mp4"
    out.parent.mkdir()
    rc = main(["generate", "--portrait", str(portrait), "--audio", str(audio), "--style", str(style),
               "-o", str(out), "--renderer", "warp", "--device", "cpu"])
    err = capsys.readouterr().err
    if failure is KeyboardInterrupt:
        assert rc == 130 and "interrupted: nothing was written" in err
    else:
        assert rc == 2 and "error: the audio could not be read" in err
    assert list(out.parent.iterdir()) == []
    assert set(Path(tempfile.gettempdir()).glob("talkinghead-cli-*")) == before


@pytest.mark.parametrize(
    ("framing", "size", "expected"),
    [("full", None, (400, 400)), ("face", None, (512, 512)), ("full", 256, (256, 256)), ("face", 128, (128, 128))],
)
def test_framing_and_size(pipeline, inputs, tmp_path, framing, size, expected):
    """"full" is the whole portrait at its own size (the example is 400²), "face" the 512² crop;
    an output size scales either. The face crop's frames are the renderer's crops themselves."""
    portrait, audio, style = inputs
    opts = RequestOptions(steps=0, framing=framing, output_size=size, side_by_side=False)
    res = pipeline.generate(portrait, audio, style, opts, workdir=tmp_path)
    clip = media.load_video(res.video_path, with_audio=False)
    assert clip.size == expected
    if framing == "face" and size is None:
        pre = pipeline.analyse(portrait, style)
        first = pipeline.renderer.render(pre.source, res.targets[:1])[0]
        assert np.abs(clip.frames[0].astype(int) - first.astype(int)).mean() < 2.0  # encoding noise only


def _threads_while_rendering(pipeline, monkeypatch) -> list[int]:
    """Torch's thread count seen by each render call of ``pipeline``'s renderer, from now on."""
    seen: list[int] = []
    render = pipeline.renderer.render

    def counting(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return render(*args, **kwargs)

    monkeypatch.setattr(pipeline.renderer, "render", counting)
    return seen


def test_each_request_sets_its_threads_count(pipeline, inputs, tmp_path, monkeypatch):
    """Torch keeps its thread count per thread, and a server's worker threads serve many requests:
    a count lowered in this thread (a past request's render) is set back when the next one starts."""
    portrait, audio, style = inputs
    preview = pipeline.analyse(portrait, style)
    torch.set_num_threads(1)
    rendering = _threads_while_rendering(pipeline, monkeypatch)
    opts = RequestOptions(steps=0, framing="face", side_by_side=False)
    pipeline.generate(portrait, audio, style, opts, workdir=tmp_path, preview=preview)
    assert set(rendering) == {pipeline.cpu_threads}


def test_a_large_full_frame_is_encoded_for_speed(pipeline, inputs, tmp_path, monkeypatch):
    """Past HEAVY_ENCODE_PX the result's encoder refines motion with one pass fewer; the side-by-side
    keeps the usual settings, and torch's threads are back as they were after the render."""
    import cv2

    from talkinghead.pipeline import HEAVY_ENCODE_PX

    portrait, audio, style = inputs
    big = cv2.resize(media.load_image(portrait), (1600, 1600), interpolation=cv2.INTER_CUBIC)
    assert 1600 * 1600 > HEAVY_ENCODE_PX
    preview = pipeline.analyse(big, style)  # the ISPs: rendered before the render pass
    rendering = _threads_while_rendering(pipeline, monkeypatch)
    res = pipeline.generate(
        big, audio, style, RequestOptions(steps=0, framing="full"), workdir=tmp_path, preview=preview
    )
    fills_the_cores = pipeline.cpu_threads >= runtime.cpu_cores()
    assert set(rendering) == {max(1, pipeline.cpu_threads - 1) if fills_the_cores else pipeline.cpu_threads}
    assert torch.get_num_threads() == pipeline.cpu_threads
    assert media.load_video(res.video_path, with_audio=False, max_frames=1).size == (1600, 1600)
    assert b"subme=1 " in res.video_path.read_bytes()[:200_000]  # x264 writes its settings into the stream
    assert b"subme=2 " in res.side_by_side_path.read_bytes()[:200_000]


def test_framing_is_checked():
    with pytest.raises(InputError, match="framing must be one of full, face"):
        RequestOptions(framing="square")
