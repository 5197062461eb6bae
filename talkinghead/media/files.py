"""Paths in and out: checks on the files we read, the names users see, atomic output.

Upload paths are long server-side temporary folders, so messages name the file only. Every file
the package writes appears atomically (a temporary file in the same folder, then a rename), so a
failure never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from talkinghead.errors import InputError


def _display_name(path: str | os.PathLike) -> str:
    """The file name a user recognises (upload paths are long temporary folders)."""
    return Path(path).name or str(path)


def _check_readable(path: str | os.PathLike, hint: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist: check the path, or {hint}")
    if not path.is_file():
        raise InputError(f"{path} is not a file: {hint}")
    if path.stat().st_size == 0:
        raise InputError(f"{_display_name(path)} is empty (0 bytes): {hint}")
    return path


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success, delete it on failure."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output folder {path.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
