"""Where this process runs: the torch device, the precision and inference context, the network.

Every module that picks a device, enters inference mode or asks whether a host answers does it
through here, so the rules are written once:

* ``auto`` is CUDA when a CUDA GPU is present, else the CPU; asking for ``cuda`` without one is
  an :class:`InputError` that says what to do.
* Inference runs under ``torch.inference_mode()`` and, on CUDA when asked, fp16 autocast.
* ``TALKINGHEAD_OFFLINE`` or ``HF_HUB_OFFLINE`` set to 1 / true / yes / on means no network; a
  host is reachable when it answers one HTTP HEAD (any status) within a bounded time.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING

from talkinghead.errors import InputError

if TYPE_CHECKING:  # torch is imported when a device is asked for, so network checks stay light
    import torch

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TALKINGHEAD_OFFLINE")
_TRUE = {"1", "true", "yes", "on"}


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``name`` (auto | cpu | cuda | cuda:N | a torch.device; None = auto)."""
    import torch

    if isinstance(name, torch.device):
        return name
    if name is None or name == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if name.startswith("cuda") and not cuda_available():
        raise InputError(f"device {name!r} was asked for but no CUDA GPU is available: use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InputError(f"Unknown device {name!r}: choose one of {', '.join(DEVICES)}.") from None


MAX_CPU_THREADS = 4  # past this, the many small per-frame ops gain less than thread hand-offs cost


def cpu_threads(requested: int | None = None) -> int:
    """Torch threads for CPU work: ``requested``, or this machine's cores up to ``MAX_CPU_THREADS``."""
    if requested is not None:
        if requested < 1:
            raise InputError(f"CPU threads must be 1 or more, got {requested}: leave it out to use the cores.")
        return requested
    return max(1, min(MAX_CPU_THREADS, cpu_cores()))


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def autocast(device: torch.device, *, half: bool) -> contextlib.AbstractContextManager:
    """fp16 autocast when ``half`` and ``device`` is CUDA; otherwise no change of precision."""
    import torch

    if half and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


# glibc malloc: blocks past MMAP_THRESHOLD come straight from the kernel and go back to it when freed,
# and a free heap top past TRIM_THRESHOLD is handed back too. Per frame and per batch of frames,
# torch, numpy and OpenCV allocate and free blocks of 1-50 MB; with glibc's defaults (a threshold
# that adapts up to 32 MB) they kept touching fresh pages: about 750,000 page faults for 10 s of
# video, a quarter of the render's time. Kept in the process, the same blocks are reused.
MMAP_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 512 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)


@functools.cache
def _glibc():  # noqa: ANN202 - the C library, or None off glibc
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def keep_freed_memory() -> bool:
    """Let glibc keep freed blocks of up to :data:`MMAP_THRESHOLD` for reuse, rather than unmap and
    fault them in again on the next frame. True where it took effect (Linux with glibc); elsewhere
    nothing changes. :func:`release_freed_memory` hands back what a finished pass kept."""
    libc = _glibc()
    if libc is None:
        return False
    mmap_set = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return mmap_set and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release_freed_memory() -> None:
    """Hand the freed memory kept so far back to the system (glibc's ``malloc_trim``): after the
    render pass, so the next request's style analysis does not come on top of the render's blocks."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.contextmanager
def inference(device: torch.device | None = None, *, half: bool = False) -> Iterator[None]:
    """No autograd (``torch.inference_mode``) and, with ``half`` on CUDA, fp16 autocast."""
    import torch

    with torch.inference_mode():
        if device is None:
            yield
        else:
            with autocast(device, half=half):
                yield


def offline_switch() -> str | None:
    """The environment variable that says "no network" (``"HF_HUB_OFFLINE=1"``), or None."""
    for var in OFFLINE_ENV:
        value = os.environ.get(var, "").strip().lower()
        if value in _TRUE:
            return f"{var}={value}"
    return None


def reachable(url: str, timeout: float) -> bool:
    """True when ``url`` answers an HTTP HEAD (any status) within ``timeout`` seconds.

    Runs in a daemon thread so that a slow DNS lookup, which socket timeouts do not bound, cannot
    hold the caller longer than ``timeout``. urllib honours the usual *_proxy variables.
    """
    answered = threading.Event()

    def attempt() -> None:
        request = urllib.request.Request(url, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                pass
            answered.set()
        except urllib.error.HTTPError:  # a status code is an answer
            answered.set()
        except (OSError, ValueError) as exc:
            log.debug("probe of %s failed: %s", url, exc)

    thread = threading.Thread(target=attempt, name="reach-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return answered.is_set()
