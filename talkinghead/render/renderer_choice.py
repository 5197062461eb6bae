"""Renderer selection: ``auto`` uses ``liveportrait`` when its weights are present and verified,
else the embedded ``warp`` renderer, and says which one runs and why."""

from __future__ import annotations

import logging

import torch

from talkinghead import runtime
from talkinghead.errors import InputError
from talkinghead.render.base import Renderer

log = logging.getLogger(__name__)

RENDERERS = ("auto", "warp", "liveportrait")


def _liveportrait_problems() -> tuple[list[str], list[str]]:
    """(missing file names, corrupt-file messages) of the liveportrait weights, without downloading."""
    from talkinghead import weights

    missing, corrupt = [], []
    for spec in weights.specs("liveportrait"):
        try:
            weights.resolve(spec, allow_download=False)
        except weights.WeightsCorrupt as exc:
            corrupt.append(str(exc))
        except weights.WeightsError:
            missing.append(spec.filename)
    return missing, corrupt


def select_renderer(name: str = "auto", *, device: torch.device | str = "cpu") -> tuple[Renderer, str]:
    """Build the renderer ``name`` ("auto" | "warp" | "liveportrait"). Returns ``(renderer, reason)``."""
    if name not in RENDERERS:
        raise InputError(f"unknown renderer {name!r}: choose one of {', '.join(RENDERERS)}")
    device = runtime.resolve_device(device)
    if name in ("auto", "liveportrait"):
        missing, corrupt = _liveportrait_problems()
        if not missing and not corrupt:
            from talkinghead.render.liveportrait import LivePortraitRenderer

            reason = "liveportrait weights present and verified"
            log.info("renderer: liveportrait (%s)", reason)
            return LivePortraitRenderer.from_registry(device=device), reason
        fetch = "python -m talkinghead weights download liveportrait"
        problem = " ".join(corrupt) if corrupt else f"{len(missing)} files missing: {', '.join(missing)}"
        if name == "liveportrait":
            raise InputError(f"the liveportrait renderer cannot start ({problem}): run `{fetch}`")
        reason = f"liveportrait weights not usable ({problem}; `{fetch}` fetches them), using warp"
    else:
        reason = "warp asked for"
    from talkinghead.render.warp import WarpRenderer

    log.info("renderer: warp (%s)", reason)
    return WarpRenderer(device=device), reason
