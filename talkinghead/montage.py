"""Comparison videos built from frames as they come: a clip beside the result, several results in
a grid. Clips are decoded frame by frame and scaled by the decoder, so memory does not grow with
their length."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from talkinghead import media


def grid_video(paths: list[Path], out_path: Path, *, labels: list[str] | None = None) -> Path:
    """Results side by side in one video (the audio of the first), each labelled at its
    bottom left (the top left is where players put their own controls and labels). The
    videos are read frame by frame, together: memory does not grow with their length."""
    import cv2

    infos = [media.probe(p) for p in paths]
    h = min(i.height for i in infos)
    fps = infos[0].fps or 25.0

    def tile(frame: np.ndarray, label: str) -> np.ndarray:
        out = fit_height(frame, h)
        for colour, width in (((0, 0, 0), 5), ((255, 255, 255), 2)):  # white on a dark outline
            cv2.putText(out, label, (10, h - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.8, colour, width, cv2.LINE_AA)
        return out

    names = labels or [p.stem for p in paths]
    streams = [media.iter_video_frames(p, fps=fps) for p in paths]
    audio = media.load_audio(paths[0]) if infos[0].has_audio else None
    frames = (np.concatenate([tile(f, names[k]) for k, f in enumerate(row)], axis=1) for row in zip(*streams))
    media.write_video(out_path, frames, fps, audio=audio)
    return out_path


def even(x: float) -> int:
    """``x`` rounded to an even number of pixels, at least 2 (what yuv420p video needs)."""
    return max(2, int(round(x / 2)) * 2)


def fit_height(frame: np.ndarray, height: int) -> np.ndarray:
    """``frame`` scaled to ``height`` rows (and an even width), aspect kept."""
    import cv2

    fh, fw = frame.shape[:2]
    if fh == height:
        return frame.copy()
    width = even(fw * height / fh)
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if height < fh else cv2.INTER_LINEAR)


def looped_frames(video: str | Path, fps: int, *, height: int, max_seconds: float = 60.0) -> Iterator[np.ndarray]:
    """The frames of a clip ``height`` rows tall at ``fps`` (so it plays at its own speed), up to
    ``max_seconds``, starting over at its end for as long as frames are asked for; decoded (and
    scaled by the decoder) as they are needed."""
    info = media.probe(video)
    size = (even(info.width * height / info.height), height)
    while True:
        yield from media.iter_video_frames(video, fps=fps, target_size=size, max_frames=int(max_seconds * fps))
