"""Shared fixtures: the repository, the examples, and the read-only reference data in ../shared/."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (reference data, real media); skips when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/ is not beside this checkout: reference data and real media unavailable")
    return SHARED


@pytest.fixture(scope="session")
def media_dir(shared_dir: Path) -> Path:
    media = shared_dir / "media"
    if not media.is_dir():
        pytest.skip("../shared/media/ is absent: real media unavailable")
    return media
