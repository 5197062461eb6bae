"""Weights registry: resolution order, checksums, offline behaviour, loading, upload, CLI.

Everything runs offline against a local fake Hub: a real Hub cache layout in tmp_path
(`models--owner--repo/{blobs,snapshots,refs}`) and, for downloads, a patched `hf_hub_download` that
copies from a fake remote folder into that layout. huggingface_hub reads $HF_HUB_CACHE only when it
is imported, so the tests patch `huggingface_hub.constants.HF_HUB_CACHE`, which
`try_to_load_from_cache` and `hf_hub_download` read at call time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client, for a realistic 404
import huggingface_hub
import pytest
import torch
from huggingface_hub import constants as hub_constants
from safetensors.torch import save_file

from talkinghead import hub, publish, runtime, weights
from talkinghead.cli import main

REPO_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> str:
    """Write a real safetensors file; return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"format": "pt"})
    return hashlib.sha256(path.read_bytes()).hexdigest()


def put_in_cache(cache: Path, repo_id: str, filename: str, src: Path, commit: str = COMMIT) -> Path:
    """Place `src` in a Hub cache exactly as hf_hub_download lays it out; return the snapshot path."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    data = src.read_bytes()
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snap = repo / "snapshots" / commit / filename
    snap.parent.mkdir(parents=True, exist_ok=True)
    snap.symlink_to(Path("..", "..", "blobs", blob.name) if "/" not in filename else blob)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snap


def tiny_tensors(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"weight": torch.randn(3, 2, generator=g), "bias": torch.randn(3, generator=g)}


class Probe:
    """Stand-in for the network probe: records calls, answers `reachable`."""

    def __init__(self) -> None:
        self.calls = 0
        self.reachable = False

    def __call__(self, endpoint: str, timeout: float) -> bool:
        self.calls += 1
        assert timeout <= 3.0
        return self.reachable


class FakeRemote:
    """Stand-in for hf_hub_download: serves files from a folder, writing them into the fake cache."""

    def __init__(self, root: Path, cache: Path) -> None:
        self.root, self.cache, self.calls = root, cache, []

    def __call__(self, repo_id, filename, *, revision=None, force_download=False, **kw):
        self.calls.append((repo_id, filename, revision))
        src = self.root / repo_id / filename
        if not src.is_file():
            # What the Hub answers for an unknown repo: a 404 wrapped in RepositoryNotFoundError.
            url = f"https://huggingface.co/{repo_id}/resolve/main/{filename}"
            response = httpx2.Response(404, request=httpx2.Request("HEAD", url))
            raise huggingface_hub.errors.RepositoryNotFoundError("404 Not Found", response=response)
        return str(put_in_cache(self.cache, repo_id, filename, src, commit=revision or COMMIT))


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated weights folder, Hub cache, registry copy and probe; no network, no real download."""
    local = tmp_path / "weights"
    cache = tmp_path / "hub"
    local.mkdir()
    cache.mkdir()
    monkeypatch.setenv("TALKINGHEAD_WEIGHTS_DIR", str(local))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TALKINGHEAD_OFFLINE", raising=False)
    monkeypatch.setattr(weights, "REGISTRY", dict(weights.REGISTRY))
    probe = Probe()
    monkeypatch.setattr(runtime, "reachable", probe)
    remote = FakeRemote(tmp_path / "remote", cache)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", remote)
    hub.reset_status()
    weights.clear_hash_cache()
    yield type("Env", (), {"local": local, "cache": cache, "probe": probe, "remote": remote, "tmp": tmp_path})
    hub.reset_status()
    weights.clear_hash_cache()


def spec_for(tmp: Path, name="demo/net", sha=True, **kw) -> tuple[weights.WeightSpec, Path]:
    """A registered spec whose file content lives at tmp/src/<file>; returns (spec, source file)."""
    src = tmp / "src" / "net.safetensors"
    digest = write_safetensors(src, kw.pop("tensors", tiny_tensors()))
    spec = weights.WeightSpec(name=name, repo_id="owner/demo-repo", filename="net.safetensors", group="demo",
                        sha256=digest if sha else None, **kw)
    weights.register(spec)
    return spec, src


# ---------------------------------------------------------------- registry


def test_registry_has_liveportrait_files_and_motion_generator():
    lp = weights.specs("liveportrait")
    assert [s.filename for s in lp] == [
        "appearance_feature_extractor.safetensors", "motion_extractor.safetensors",
        "warping_module.safetensors", "spade_generator.safetensors",
        "stitching_retargeting_module.safetensors",
    ]
    assert {s.repo_id for s in lp} == {"Kijai/LivePortrait_safetensors"}
    assert all(s.sha256 and len(s.sha256) == 64 for s in lp)
    mg = weights.REGISTRY["motion_generator"]
    assert (mg.group, mg.repo_id, mg.relative_local_path) == (
        "motion", "talkinghead/motion-generator", "motion_generator.safetensors")
    warping = weights.REGISTRY["liveportrait/warping_module"]
    assert warping.relative_local_path == "liveportrait/warping_module.safetensors"


def test_registry_checksums_match_reference_manifest(shared_dir):
    ref = shared_dir / "reference" / "liveportrait"
    seen = 0
    for keys_file in sorted(ref.glob("keys_*.json")):
        info = json.loads(keys_file.read_text())
        spec = weights.REGISTRY["liveportrait/" + info["checkpoint_file"].removesuffix(".safetensors")]
        assert spec.sha256 == info["hub_file"]["sha256"]
        assert spec.size_bytes == info["hub_file"]["bytes"]
        seen += 1
    assert seen == 7  # four networks + three stitching sub-networks in one file


def test_spec_refuses_non_safetensors_and_bad_hash():
    with pytest.raises(ValueError, match="safetensors"):
        weights.WeightSpec(name="x", repo_id="a/b", filename="model.pth", group="g")
    with pytest.raises(ValueError, match="sha256"):
        weights.WeightSpec(name="x", repo_id="a/b", filename="m.safetensors", group="g", sha256="abc")


def test_register_conflict(env):
    spec, _ = spec_for(env.tmp)
    weights.register(spec)  # identical: fine
    with pytest.raises(ValueError, match="already registered"):
        other = weights.WeightSpec(name=spec.name, repo_id="other/repo", filename="x.safetensors", group="demo")
        weights.register(other)


# ---------------------------------------------------------------- resolution


def test_local_file_found(env):
    spec, src = spec_for(env.tmp)
    dest = env.local / "demo" / "net.safetensors"
    dest.parent.mkdir()
    shutil.copy(src, dest)
    assert weights.resolve(spec.name) == dest
    assert weights.locate(spec.name).source == "local"
    got = weights.load_tensors(spec.name)
    torch.testing.assert_close(got, tiny_tensors())
    assert env.probe.calls == 0 and env.remote.calls == []


def test_motion_generator_resolves_from_weights_root(env):
    dest = env.local / "motion_generator.safetensors"
    shutil.copy(REPO_WEIGHTS / "motion_generator.safetensors", dest)  # the shipped file, sha256 registered
    assert weights.resolve("motion_generator") == dest
    assert weights.available("motion_generator")
    write_safetensors(dest, tiny_tensors())  # another file under the same name is refused
    weights.clear_hash_cache()
    with pytest.raises(weights.WeightsCorrupt, match="motion_generator"):
        weights.resolve("motion_generator")


def test_explicit_local_dir_overrides_env(env, tmp_path):
    spec, src = spec_for(env.tmp)
    other = tmp_path / "elsewhere"
    (other / "demo").mkdir(parents=True)
    shutil.copy(src, other / "demo" / "net.safetensors")
    assert weights.resolve(spec, local_dir=other) == other / "demo" / "net.safetensors"
    assert not weights.available(spec)  # not in the env folder nor the cache


def test_cache_hit_without_network(env):
    spec, src = spec_for(env.tmp)
    snap = put_in_cache(env.cache, spec.repo_id, spec.filename, src)
    path = weights.resolve(spec.name)
    assert path == snap and weights.locate(spec).source == "cache"
    assert env.probe.calls == 0 and env.remote.calls == []
    # The fake layout is the one huggingface_hub itself reads.
    from huggingface_hub.file_download import hf_hub_download as real_download

    assert Path(real_download(spec.repo_id, spec.filename, local_files_only=True)) == snap


def test_local_wins_over_cache(env):
    spec, src = spec_for(env.tmp)
    put_in_cache(env.cache, spec.repo_id, spec.filename, src)
    dest = env.local / "demo" / "net.safetensors"
    dest.parent.mkdir()
    shutil.copy(src, dest)
    assert weights.resolve(spec) == dest


def test_pinned_revision_only_matches_that_snapshot(env):
    spec, src = spec_for(env.tmp, name="demo/pinned", revision="f" * 40)
    put_in_cache(env.cache, spec.repo_id, spec.filename, src)  # cached under COMMIT, not the pin
    assert weights.locate(spec) is None
    put_in_cache(env.cache, spec.repo_id, spec.filename, src, commit="f" * 40)
    assert weights.locate(spec).path.parent.name == "f" * 40


def test_download_used_only_when_reachable(env):
    spec, src = spec_for(env.tmp)
    (env.tmp / "remote" / spec.repo_id).mkdir(parents=True)
    shutil.copy(src, env.tmp / "remote" / spec.repo_id / spec.filename)

    with pytest.raises(weights.WeightsNotFound, match="unreachable"):
        weights.resolve(spec)
    assert env.probe.calls == 1 and env.remote.calls == []

    hub.reset_status()
    env.probe.reachable = True
    path = weights.resolve(spec)
    assert env.remote.calls == [(spec.repo_id, spec.filename, None)]
    assert path.is_file() and weights.locate(spec).source == "cache"
    # Second resolve: from the cache, no new download.
    assert weights.resolve(spec) == path and len(env.remote.calls) == 1


def test_download_failure_is_weights_not_found(env):
    spec, _ = spec_for(env.tmp)  # not on the fake remote
    env.probe.reachable = True
    with pytest.raises(weights.WeightsNotFound, match="could not download net.safetensors from Hub repo owner/"):
        weights.resolve(spec)


def test_downloaded_file_is_verified(env):
    spec, _ = spec_for(env.tmp)
    bad = env.tmp / "remote" / spec.repo_id / spec.filename
    write_safetensors(bad, tiny_tensors(seed=1))  # a different file under the same name
    env.probe.reachable = True
    with pytest.raises(weights.WeightsCorrupt, match="expected sha256"):
        weights.resolve(spec)


@pytest.mark.parametrize("var", ["HF_HUB_OFFLINE", "TALKINGHEAD_OFFLINE"])
def test_offline_fails_fast_with_a_useful_message(env, monkeypatch, var):
    monkeypatch.setenv(var, "1")
    env.probe.reachable = True  # would answer, but must not even be asked
    start = time.perf_counter()
    with pytest.raises(weights.WeightsNotFound) as info:
        weights.resolve("liveportrait/warping_module")
    assert time.perf_counter() - start < 1.0
    msg = str(info.value)
    assert "warping_module.safetensors" in msg
    assert "Kijai/LivePortrait_safetensors" in msg
    assert "python -m talkinghead weights download liveportrait" in msg
    assert f"{var}=1" in msg
    assert str(env.local / "liveportrait" / "warping_module.safetensors") in msg
    assert env.probe.calls == 0 and env.remote.calls == []


def test_reachability_decided_once(env):
    env.probe.reachable = True
    names = []
    for i in range(3):
        spec, src = spec_for(env.tmp / str(i), name=f"demo/n{i}", tensors=tiny_tensors(i))
        spec = dataclasses.replace(spec, filename=f"n{i}.safetensors")
        weights.REGISTRY[spec.name] = spec
        (env.tmp / "remote" / spec.repo_id).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, env.tmp / "remote" / spec.repo_id / spec.filename)
        names.append(spec.name)
    for name in names:
        weights.resolve(name)
    assert env.probe.calls == 1 and len(env.remote.calls) == 3
    hub.reset_status()
    hub.status()
    assert env.probe.calls == 2


def test_missing_file(env):
    spec, _ = spec_for(env.tmp)
    with pytest.raises(weights.WeightsNotFound, match="not found: net.safetensors") as info:
        weights.resolve(spec, allow_download=False)
    assert "python -m talkinghead weights download demo" in str(info.value)
    assert not weights.available(spec)
    assert env.probe.calls == 0


def test_unknown_name(env):
    with pytest.raises(weights.WeightsError, match="unknown weights name 'nope'"):
        weights.resolve("nope")


# ---------------------------------------------------------------- checksums


def test_corrupt_local_file(env):
    spec, src = spec_for(env.tmp)
    dest = env.local / "demo" / "net.safetensors"
    dest.parent.mkdir()
    data = bytearray(src.read_bytes())
    data[-1] ^= 0xFF
    dest.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(weights.WeightsCorrupt) as info:
        weights.resolve(spec)
    msg = str(info.value)
    assert str(dest) in msg and spec.sha256 in msg and actual in msg
    assert "Delete it" in msg and "python -m talkinghead weights download demo/net" in msg
    assert not weights.available(spec)


def test_hash_remembered_until_file_changes(env, monkeypatch):
    spec, src = spec_for(env.tmp)
    dest = env.local / "demo" / "net.safetensors"
    dest.parent.mkdir()
    shutil.copy(src, dest)
    count = {"n": 0}
    real_sha256 = hashlib.sha256

    def counting_sha256(*a):
        count["n"] += 1
        return real_sha256(*a)

    monkeypatch.setattr(weights.hashlib, "sha256", counting_sha256)
    for _ in range(3):
        weights.resolve(spec)
    assert count["n"] == 1
    save_file({**tiny_tensors(), "more": torch.zeros(4)}, str(dest))  # replaced: new size and mtime
    with pytest.raises(weights.WeightsCorrupt):
        weights.resolve(spec)
    assert count["n"] == 2


def test_invalid_safetensors_without_checksum(env):
    spec, _ = spec_for(env.tmp, sha=False)
    dest = env.local / "demo" / "net.safetensors"
    dest.parent.mkdir()
    dest.write_bytes(b"not a safetensors file at all")
    with pytest.raises(weights.WeightsCorrupt, match="not a valid safetensors file"):
        weights.load_tensors(spec)


# ---------------------------------------------------------------- loading


def test_split_by_prefix_is_exact():
    t = {k: torch.zeros(1) for k in ("a.b", "ab.c", "a.c.d", "a", "b.a.x")}
    assert sorted(weights.split_by_prefix(t, "a")) == ["b", "c.d"]
    assert sorted(weights.split_by_prefix(t, "a.")) == ["b", "c.d"]
    assert sorted(weights.split_by_prefix(t, "ab")) == ["c"]
    with pytest.raises(weights.WeightsError, match="top-level prefixes present: a, ab, b"):
        weights.split_by_prefix(t, "c")


def test_strict_load_ok_sets_eval():
    module = torch.nn.Linear(2, 3).train()
    out = weights.load_state_strict(module, tiny_tensors())
    assert out is module and not module.training
    torch.testing.assert_close(module.weight.detach(), tiny_tensors()["weight"])


def test_strict_load_reports_extra_missing_and_shape():
    with pytest.raises(weights.WeightsError, match=r"unexpected keys: extra\.thing") as info:
        extra = {**tiny_tensors(), "extra.thing": torch.zeros(1)}
        weights.load_state_strict(torch.nn.Linear(2, 3), extra, source="F")
    assert str(info.value).startswith("F do not fit Linear")
    with pytest.raises(weights.WeightsError, match="missing keys: bias"):
        weights.load_state_strict(torch.nn.Linear(2, 3), {"weight": torch.zeros(3, 2)})
    with pytest.raises(weights.WeightsError, match=r"shape mismatches.*weight \(2, 2\)≠\(3, 2\)"):
        weights.load_state_strict(torch.nn.Linear(2, 3), {"weight": torch.zeros(2, 2), "bias": torch.zeros(3)})


def test_key_prefix_spec_loads_one_subnetwork(env):
    eye, mouth = torch.nn.Sequential(torch.nn.Linear(4, 2)), torch.nn.Sequential(torch.nn.Linear(3, 5))
    flat = {f"retarget_eye_module.{k}": v for k, v in eye.state_dict().items()}
    flat |= {f"retarget_mouth_module.{k}": v for k, v in mouth.state_dict().items()}
    spec, src = spec_for(env.tmp, name="demo/eye", tensors=flat, key_prefix="retarget_eye_module")
    (env.local / "demo").mkdir()
    shutil.copy(src, env.local / "demo" / "net.safetensors")
    assert sorted(weights.load_tensors(spec)) == ["0.bias", "0.weight"]
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 2))
    weights.load_module(fresh, spec.name)
    torch.testing.assert_close(fresh[0].weight, eye[0].weight)
    with pytest.raises(weights.WeightsError, match="demo/eye"):  # the mouth net does not fit the eye's file
        weights.load_module(torch.nn.Sequential(torch.nn.Linear(3, 5)), spec.name)


def test_load_module_from_another_file(env, tmp_path):
    """`path` loads another version of a registered network (no checksum), with the same strictness."""
    spec, _ = spec_for(env.tmp)
    other = tmp_path / "trained.safetensors"
    write_safetensors(other, tiny_tensors(seed=5))  # not the registered bytes
    module = weights.load_module(torch.nn.Linear(2, 3).train(), spec.name, path=other)
    assert not module.training
    torch.testing.assert_close(module.bias.detach(), tiny_tensors(seed=5)["bias"])
    with pytest.raises(weights.WeightsError, match=r"weights 'demo/net' \(trained.safetensors\) do not fit Linear"):
        weights.load_module(torch.nn.Linear(3, 3), spec.name, path=other)
    other.write_bytes(b"not safetensors")
    with pytest.raises(weights.WeightsCorrupt, match="not a valid safetensors file"):
        weights.load_module(torch.nn.Linear(2, 3), spec.name, path=other)


def test_layout_mismatch_of_a_registered_file_says_what_to_do(env):
    spec, src = spec_for(env.tmp)
    (env.local / "demo").mkdir()
    shutil.copy(src, env.local / "demo" / "net.safetensors")
    with pytest.raises(weights.WeightsError) as info:
        weights.load_module(torch.nn.Linear(3, 3), spec.name)
    msg = str(info.value)
    assert "shape mismatches" in msg and "Hub repo owner/demo-repo" in msg
    assert "python -m talkinghead weights download demo/net" in msg


def test_partial_load_reports_missing_and_unexpected_keys():
    module = torch.nn.Linear(2, 3).train()
    tensors = {"weight": torch.ones(3, 2), "extra": torch.zeros(1)}
    missing, unexpected = weights.load_state_partial(module, tensors)
    assert (missing, unexpected) == (["bias"], ["extra"])
    assert module.training  # the mode is the caller's
    torch.testing.assert_close(module.weight.detach(), torch.ones(3, 2))
    with pytest.raises(weights.WeightsError, match="init do not load into Linear"):  # shapes must still fit
        weights.load_state_partial(module, {"weight": torch.zeros(2, 2)}, source="init")


# ---------------------------------------------------------------- upload


class FakeApi:
    instances: list[FakeApi] = []

    def __init__(self, token=None):
        self.token, self.calls = token, []
        FakeApi.instances.append(self)

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_file(self, **kw):
        self.calls.append(("upload_file", kw))
        return type("CommitInfo", (), {"commit_url": f"https://hub.example/{kw['repo_id']}/commit/1"})()


def test_upload_code_path(env, monkeypatch):
    FakeApi.instances.clear()
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    spec, src = spec_for(env.tmp)
    (env.local / "demo").mkdir()
    shutil.copy(src, env.local / "demo" / "net.safetensors")

    with pytest.raises(weights.WeightsError, match="cannot upload"):  # Hub unreachable: nothing sent
        publish.upload(spec.name)
    assert FakeApi.instances == []

    hub.reset_status()
    env.probe.reachable = True
    done = publish.upload(spec.name, token="tok")
    assert done.sha256 == spec.sha256 and done.repo_id == "owner/demo-repo"
    (api,) = FakeApi.instances
    assert api.token == "tok"
    assert api.calls[0] == ("create_repo", "owner/demo-repo", {"repo_type": "model", "exist_ok": True})
    kind, kw = api.calls[1]
    assert kind == "upload_file" and kw["path_in_repo"] == "net.safetensors"
    assert kw["repo_id"] == "owner/demo-repo"
    assert Path(kw["path_or_fileobj"]) == env.local / "demo" / "net.safetensors"

    assert publish.upload(spec.name, repo_id="me/fork").repo_id == "me/fork"
    assert FakeApi.instances[-1].calls[1][1]["repo_id"] == "me/fork"


# ---------------------------------------------------------------- CLI


def test_cli_list(env, capsys):
    spec, src = spec_for(env.tmp)
    (env.local / "demo").mkdir()
    shutil.copy(src, env.local / "demo" / "net.safetensors")
    bad, bad_src = spec_for(env.tmp / "b", name="demo/bad", tensors=tiny_tensors(3))
    bad = dataclasses.replace(bad, filename="bad.safetensors", sha256="0" * 64)
    weights.REGISTRY[bad.name] = bad
    put_in_cache(env.cache, bad.repo_id, bad.filename, bad_src)
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "local" in lines["demo/net"] and "sha256 ok" in lines["demo/net"]
    assert "cache" in lines["demo/bad"] and "MISMATCH" in lines["demo/bad"]
    warping = lines["liveportrait/warping_module"]
    assert "missing" in warping and "182.2 MB" in warping
    assert "motion_generator" in lines
    assert env.probe.calls == 0


def test_cli_verify(env, capsys):
    spec, src = spec_for(env.tmp)
    dest = env.local / "demo" / "net.safetensors"
    dest.parent.mkdir()
    shutil.copy(src, dest)
    assert main(["weights", "verify"]) == 0  # missing files are listed but not failures
    out = capsys.readouterr().out
    assert "ok        demo/net" in out and "missing   liveportrait/spade_generator" in out

    assert main(["weights", "verify", "liveportrait"]) == 1  # asked for by name, absent
    capsys.readouterr()
    dest.write_bytes(src.read_bytes()[:-1] + b" ")
    assert main(["weights", "verify", "demo"]) == 1
    assert "CORRUPT   demo/net" in capsys.readouterr().out
    assert main(["weights", "verify", "no-such-group"]) == 2
    assert "unknown weights group or name 'no-such-group'" in capsys.readouterr().err


def test_cli_download_offline_fast(env, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    assert main(["weights", "download", "liveportrait"]) == 1
    assert time.perf_counter() - start < 1.0
    out = capsys.readouterr().out
    assert "cannot download 5 file(s): offline mode (HF_HUB_OFFLINE=1)" in out
    assert "stitching_retargeting_module.safetensors from Hub repo Kijai/LivePortrait_safetensors" in out
    assert env.remote.calls == []


def test_cli_download_reachable(env, capsys):
    spec, src = spec_for(env.tmp)
    (env.tmp / "remote" / spec.repo_id).mkdir(parents=True)
    shutil.copy(src, env.tmp / "remote" / spec.repo_id / spec.filename)
    env.probe.reachable = True
    assert main(["weights", "download", "demo/net"]) == 0
    assert "downloaded demo/net" in capsys.readouterr().out
    assert main(["weights", "download", "demo"]) == 0  # second time: already there
    assert "present   demo/net" in capsys.readouterr().out
    assert len(env.remote.calls) == 1
    assert main(["weights", "download", "motion"]) == 1  # not on the (fake) Hub
    assert "FAILED    motion_generator" in capsys.readouterr().out


def test_cli_upload(env, monkeypatch, capsys):
    FakeApi.instances.clear()
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    env.probe.reachable = True
    spec, src = spec_for(env.tmp)
    (env.local / "demo").mkdir()
    shutil.copy(src, env.local / "demo" / "net.safetensors")
    assert main(["weights", "upload", "demo/net", "--repo-id", "me/x"]) == 0
    out = capsys.readouterr().out
    assert "uploaded net.safetensors to me/x" in out and spec.sha256 in out
    assert main(["weights", "upload", "motion_generator"]) == 1  # no local file
    assert "not found: motion_generator.safetensors" in capsys.readouterr().err
