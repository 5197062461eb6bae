"""One fixed, seeded request gives the frames and numbers recorded for it.

The example portrait, the first 3 s of the example speech and the ballad clip, on ``warp``:
the decoded frames of the result video, the ISPs, the motion and the style metrics are compared
with ``data/regression_request.*``, recorded with ``python tests/test_regression_request.py``.
Frame hashes must be equal where torch's CPU kernels are the recording machine's (same SIMD
capability); elsewhere float rounding may move a pixel by a level, so the frames (thumbnails)
are compared within two levels and the numbers within 1e-6.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve().parent
RECORD = HERE / "data" / "regression_request.json"
THUMBS = HERE / "data" / "regression_request.npz"

pytestmark = pytest.mark.slow


def _request(workdir: Path) -> dict:
    from talkinghead import media
    from talkinghead.pipeline import Pipeline, PipelineConfig, RequestOptions

    examples = HERE.parent / "examples"
    audio = workdir / "speech.wav"
    media.save_wav(audio, media.load_audio(examples / "speech_en.wav")[: 3 * media.SAMPLE_RATE])
    pipeline = Pipeline(PipelineConfig(renderer="warp", device="cpu"))
    result = pipeline.generate(
        examples / "portrait_astronaut.png",
        audio,
        examples / "style_ballad.mp4",
        RequestOptions(seed=0, side_by_side=True),
        workdir=workdir,
    )
    frames = list(media.iter_video_frames(result.video_path))
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(np.ascontiguousarray(frame).tobytes())
    thumbs = np.stack([frame[::8, ::8] for frame in frames])
    side = list(media.iter_video_frames(result.side_by_side_path))
    return {
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "frames": len(frames),
        "frame_shape": list(frames[0].shape),
        "frames_sha256": digest.hexdigest(),
        "side_by_side_frames": len(side),
        "isps_sha256": [hashlib.sha256(np.ascontiguousarray(i).tobytes()).hexdigest() for i in result.isps],
        "reference_frames": [int(r.frame_index) for r in result.references],
        "phi_styled_sum": float(np.abs(result.phi_styled).sum()),
        "phi_mg_sum": float(np.abs(result.phi_mg).sum()),
        "metrics": result.metrics,
        "_thumbs": thumbs,
    }


def test_the_seeded_request_gives_the_recorded_frames_and_numbers():
    recorded = json.loads(RECORD.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        got = _request(Path(tmp))
    assert got["frames"] == recorded["frames"] and got["frame_shape"] == recorded["frame_shape"]
    assert got["side_by_side_frames"] == recorded["side_by_side_frames"]
    assert got["reference_frames"] == recorded["reference_frames"]
    for key in ("phi_styled_sum", "phi_mg_sum"):
        assert got[key] == pytest.approx(recorded[key], rel=1e-6), key
    for stage, scores in recorded["metrics"].items():
        for name, value in scores.items():
            assert got["metrics"][stage][name] == pytest.approx(value, rel=1e-6), (stage, name)
    if got["cpu"] == recorded["cpu"]:
        assert got["frames_sha256"] == recorded["frames_sha256"]
        assert got["isps_sha256"] == recorded["isps_sha256"]
    else:
        diff = np.abs(got["_thumbs"].astype(int) - np.load(THUMBS)["thumbs"].astype(int))
        assert diff.max() <= 2, f"frames differ by up to {diff.max()} levels (cpu {got['cpu']} vs {recorded['cpu']})"


if __name__ == "__main__":  # record the reference
    with tempfile.TemporaryDirectory() as tmp:
        values = _request(Path(tmp))
    np.savez_compressed(THUMBS, thumbs=values.pop("_thumbs"))
    RECORD.write_text(json.dumps(values, indent=1) + "\n")
    print(json.dumps(values, indent=1), file=sys.stderr)
