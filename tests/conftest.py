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


@pytest.fixture(scope="session", autouse=True)
def no_leftover_request_folders():
    """Nothing a request makes (``talkinghead-*`` folders in the temp directory) outlives the suite."""
    import tempfile

    root = Path(tempfile.gettempdir())
    before = set(root.glob("talkinghead-*"))
    yield
    left = sorted(str(p) for p in set(root.glob("talkinghead-*")) - before)
    assert not left, f"the test session left request folders behind: {left}"
