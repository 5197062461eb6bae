"""The Hugging Face Hub: whether this process may use it (decided once), its cache, downloads.

Files are named by (repo, file, revision) here; which file a network needs is decided by
`talkinghead.weights`. Offline when ``HF_HUB_OFFLINE`` or ``TALKINGHEAD_OFFLINE`` is set to 1;
otherwise one short probe of the Hub endpoint (`runtime.reachable`, at most `PROBE_TIMEOUT_S`)
decides for the whole process, so a missing file never costs a per-file network wait.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from talkinghead import runtime

log = logging.getLogger(__name__)

# Seconds the one Hub reachability probe may take before the Hub counts as unreachable.
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class HubStatus:
    """Whether downloads are attempted in this process, and why."""

    # True when the Hub answered the probe and no offline switch is set.
    reachable: bool
    # Human-readable reason, used in messages ("offline mode: HF_HUB_OFFLINE=1", ...).
    reason: str


class DownloadError(OSError):
    """The Hub did not deliver a file (no such repo or file, connection lost); the message says why."""


_status: HubStatus | None = None
_lock = threading.Lock()


def cache_dir() -> str:
    """The Hub cache folder. Read at call time: huggingface_hub reads $HF_HUB_CACHE once, at import."""
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def status() -> HubStatus:
    """Decide once per process whether the Hub can be used, and remember it."""
    global _status
    with _lock:
        if _status is None:
            _status = _decide()
            log.info("Hugging Face Hub: %s", _status.reason)
        return _status


def reset_status() -> None:
    """Forget the reachability decision (tests; or after the network came back)."""
    global _status
    with _lock:
        _status = None


def _decide() -> HubStatus:
    from huggingface_hub import constants

    switch = runtime.offline_switch()
    if switch:
        return HubStatus(False, f"offline mode ({switch})")
    endpoint = constants.ENDPOINT
    start = time.monotonic()
    if runtime.reachable(endpoint, PROBE_TIMEOUT_S):
        return HubStatus(True, f"{endpoint} reachable")
    elapsed = time.monotonic() - start
    return HubStatus(False, f"{endpoint} unreachable (the probe failed after {elapsed:.1f} s)")


def cached_file(repo_id: str, filename: str, *, revision: str | None = None) -> Path | None:
    """The file's snapshot path in the cache (usually a symlink into blobs/), read from disk without
    any request; None when it is not cached."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir(), revision=revision)
    return Path(cached) if isinstance(cached, str) else None  # _CACHED_NO_EXIST: known absent upstream


def download(repo_id: str, filename: str, *, revision: str | None = None, force: bool = False) -> Path:
    """Download the file into the cache (call only when `status().reachable`); DownloadError if it fails."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HTTPError, XetDownloadError

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, force_download=force))
    # huggingface_hub signals failures through OSError subclasses (repo/file missing, no
    # connection), httpx errors during the transfer, and ValueError for bad arguments.
    except (OSError, ValueError, HTTPError, EntryNotFoundError, XetDownloadError) as exc:
        raise DownloadError(str(exc)) from exc
