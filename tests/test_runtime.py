"""Device choice, the inference context and the network probe (talkinghead.runtime)."""

from __future__ import annotations

import time

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
