"""Device choice, the inference context and the network probe (talkinghead.runtime)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from talkinghead import runtime
from talkinghead.errors import InputError


def test_auto_device_follows_cuda(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    assert runtime.resolve_device("auto") == torch.device("cpu")
    assert runtime.resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(runtime, "cuda_available", lambda: True)
    assert runtime.resolve_device("auto") == torch.device("cuda")
    assert runtime.resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_cuda_without_gpu_and_unknown_device_say_what_to_do(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    with pytest.raises(InputError, match="no CUDA GPU.*--device cpu"):
        runtime.resolve_device("cuda")
    with pytest.raises(InputError, match="Unknown device 'tpu'"):
        runtime.resolve_device("tpu")


def test_inference_context_has_no_autograd_and_cpu_keeps_fp32():
    w = torch.ones(2, 2, requires_grad=True)
    with runtime.inference(torch.device("cpu"), half=True):
        y = w @ w
    assert not y.requires_grad and y.dtype == torch.float32 and torch.is_inference(y)


def test_offline_switch(monkeypatch):
    for var in runtime.OFFLINE_ENV:
        monkeypatch.delenv(var, raising=False)
    assert runtime.offline_switch() is None
    monkeypatch.setenv("TALKINGHEAD_OFFLINE", "0")
    assert runtime.offline_switch() is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert runtime.offline_switch() == "HF_HUB_OFFLINE=1"


def test_real_probe_is_bounded(monkeypatch):
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    # An endpoint that cannot answer (reserved TEST-NET address, unroutable port) → False within the limit.
    start = time.perf_counter()
    assert runtime.reachable("http://192.0.2.1:9", 0.5) is False
    assert time.perf_counter() - start < 1.5


def test_cpu_threads_are_the_cores_up_to_a_cap(monkeypatch):
    assert runtime.cpu_threads(3) == 3  # asked for: kept
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert runtime.cpu_threads() == runtime.MAX_CPU_THREADS
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert runtime.cpu_threads() == 2
    with pytest.raises(InputError, match="1 or more"):
        runtime.cpu_threads(0)


_FAULTS_SCRIPT = """
import resource, sys
import numpy as np
from talkinghead import runtime
if sys.argv[1] == "keep":
    assert runtime.keep_freed_memory()
np.ones(48 << 20, np.uint8)  # a first block, freed
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # a batch's block of frames (16 x 512 x 512 x 3 floats), made and freed again and again
    np.ones(48 << 20, np.uint8)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_blocks_are_reused_not_faulted_in_again():
    def faults(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT, mode], capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    default, kept = faults("default"), faults("keep")
    assert default > 20 * 24  # glibc's defaults: each block past 32 MB is new pages (2 MB ones at least)
    assert kept < default / 20


_RELEASE_SCRIPT = """
import numpy as np
from talkinghead import runtime
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
assert runtime.keep_freed_memory()
before = rss_mb()
blocks = [np.ones(24 << 20, np.uint8) for _ in range(10)]  # a pass's blocks, 240 MB
del blocks
kept = rss_mb()
runtime.release_freed_memory()
print(kept - before, rss_mb() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="Linux's /proc")
def test_kept_memory_is_handed_back_after_a_pass():
    out = subprocess.run([sys.executable, "-c", _RELEASE_SCRIPT], capture_output=True, text=True, check=True)
    kept, released = (float(x) for x in out.stdout.split())
    assert kept > 200 and released < 40, (kept, released)
