"""Renderers: portrait + target motion → 512² face frames (see :mod:`talkinghead.render.base`)."""

from talkinghead.render.base import FrameTargets, ReferenceFrame, Renderer, SourceFace, prepare_source

__all__ = ["FrameTargets", "ReferenceFrame", "Renderer", "SourceFace", "prepare_source"]
