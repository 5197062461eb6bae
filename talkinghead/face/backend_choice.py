"""Choosing and caching the landmark backend.

``auto`` picks face-alignment's 3D FAN when a CUDA GPU is present and FAN's weights are in the
torch hub cache or can be downloaded now; otherwise the embedded MediaPipe backend, which needs
no download and runs in real time on a CPU. The choice and its reason are logged. The
environment variable ``TALKINGHEAD_LANDMARKS`` (auto | mediapipe | fan) overrides ``auto``; an
explicit ``backend=`` argument overrides both.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import NamedTuple

from talkinghead import runtime
from talkinghead.errors import InputError
from talkinghead.face.landmarker import Landmarker

log = logging.getLogger(__name__)

BACKENDS = ("auto", "mediapipe", "fan")
ENV_BACKEND = "TALKINGHEAD_LANDMARKS"
REACH_TIMEOUT_S = 2.0  # how long to try the weight host before calling it unreachable


class _Choice(NamedTuple):
    name: str  # "mediapipe" | "fan"
    reason: str  # why, for the log
    named: bool  # by the argument or the environment, not by "auto": if it fails to load, that is an error
    # (an "auto" choice of FAN falls back to MediaPipe instead)


_cache: dict[tuple[str, str], Landmarker] = {}  # (backend, device) → shared instance
_resolved: dict[tuple[str, str], _Choice] = {}  # (requested, env value) → choice
_cache_lock = threading.Lock()


def fan_weights_obtainable() -> tuple[bool, str]:
    """(whether FAN can be loaded without failing, why)."""
    from talkinghead.face.fan_backend import WEIGHT_HOST, weights_present

    if weights_present():
        return True, "its weights are in the torch hub cache"
    switch = runtime.offline_switch()
    if switch:
        return False, f"its weights are not cached and {switch} says we are offline"
    if runtime.reachable(f"https://{WEIGHT_HOST}", REACH_TIMEOUT_S):
        return True, f"its weights are downloadable from {WEIGHT_HOST}"
    return False, f"its weights are not cached and {WEIGHT_HOST} is unreachable"


def resolve_backend(backend: str = "auto") -> tuple[str, str]:
    """(backend name, reason) for a requested ``backend``; see the module docstring."""
    name, reason, _ = _choose(backend)
    return name, reason


def _choose(backend: str) -> _Choice:
    if backend not in BACKENDS:
        raise InputError(f"Unknown landmark backend {backend!r}: choose one of {', '.join(BACKENDS)}.")
    if backend != "auto":
        return _Choice(backend, "requested", named=True)
    env = os.environ.get(ENV_BACKEND, "").strip().lower()
    if env and env != "auto":
        if env not in BACKENDS:
            raise InputError(
                f"{ENV_BACKEND}={env!r} is not a landmark backend: set it to one of {', '.join(BACKENDS)}."
            )
        return _Choice(env, f"{ENV_BACKEND}={env}", named=True)
    if not runtime.cuda_available():
        return _Choice("mediapipe", "no CUDA GPU; 3D FAN would take seconds per frame on the CPU", named=False)
    ok, why = fan_weights_obtainable()
    if ok:
        return _Choice("fan", f"CUDA GPU present and {why}", named=False)
    return _Choice("mediapipe", f"CUDA GPU present but FAN is unavailable: {why}", named=False)


def _construct(name: str, device: str) -> Landmarker:
    if name == "fan":
        from talkinghead.face.fan_backend import FanLandmarker

        return FanLandmarker(device=device)
    from talkinghead.face.mediapipe_backend import MediaPipeLandmarker

    return MediaPipeLandmarker()


def _cached(name: str, device: str, reason: str) -> Landmarker:
    """Build-once lookup; the caller holds ``_cache_lock``."""
    key = (name, device)
    if key not in _cache:
        _cache[key] = _construct(name, device)
        log.info("face landmarks: %s on %s (%s)", name, device, reason)
    return _cache[key]


def get_landmarker(backend: str = "auto", *, device: str | None = None) -> Landmarker:
    """The landmark backend, built once per (backend, device) in this process and shared.

    ``device`` only matters for ``fan`` (default: ``cuda`` when available, else ``cpu``).
    When ``auto`` chose FAN and it fails to load, MediaPipe is used instead (logged).
    """
    with _cache_lock:  # "auto" may probe the network: decide once per process and setting
        key = (backend, os.environ.get(ENV_BACKEND, ""))
        if key not in _resolved:
            _resolved[key] = _choose(backend)
        name, reason, named = _resolved[key]
        if name == "mediapipe":
            device = "cpu"
        elif device is None:
            device = runtime.resolve_device("auto").type
        try:
            return _cached(name, device, reason)
        except InputError as exc:
            if named:
                raise
            log.warning("face landmarks: fan failed to load (%s)", exc)
            _resolved[key] = _Choice("mediapipe", "fallback: fan failed to load", named=False)
            return _cached("mediapipe", "cpu", _resolved[key].reason)
