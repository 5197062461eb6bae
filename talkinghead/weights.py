"""Weights registry: one place that names every weight file, finds it, checks it and loads it.

Every network the project runs gets its weights through this module, from a `WeightSpec` in
`REGISTRY` (name → Hub repo, file, pinned revision, sha256, key prefix). Only safetensors files are
accepted, so nothing is unpickled at run time.

Resolution order for a spec (`resolve`):

1. the local weights folder: ``<weights dir>/<spec.local_path>``, where the weights dir is
   ``$TALKINGHEAD_WEIGHTS_DIR`` or the ``weights/`` folder at the repository root, and
   ``local_path`` defaults to ``<group>/<filename>`` (so two groups may ship files of the same
   name); the project's own files set it explicitly (``motion_generator.safetensors``);
2. the Hugging Face Hub cache (``HF_HUB_CACHE``), read from disk without any request;
3. a download with ``hf_hub_download`` into that cache — only when downloads are allowed and the
   Hub answered the one reachability probe this process makes (`hub.status`).

A file whose spec has a sha256 is hashed (streamed) before use; the verdict is remembered per
(path, mtime, size) for the life of the process, so loading a large file twice hashes it once.

Loading (`load_module`) is strict: a key or shape that does not fit is a `WeightsError` naming the
file and the keys. `load_state_partial` is the one non-strict copy (warm-starting training).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from talkinghead import hub

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# The shipped weights folder: `weights/` at the repository root, beside the package.
DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
# Bytes read per step when hashing; large enough to keep hashing near disk speed.
_HASH_CHUNK = 1 << 20
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
ModuleT = TypeVar("ModuleT", bound="torch.nn.Module")


# --------------------------------------------------------------------------------------------
# Errors


class WeightsError(RuntimeError):
    """A weight file cannot be used. The message says which file and what to do about it."""


class WeightsNotFound(WeightsError):
    """The file is neither in the weights folder nor in the Hub cache, and could not be downloaded."""


class WeightsCorrupt(WeightsError):
    """The file is there but its sha256 differs from the registry's, or it is not valid safetensors."""


# --------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class WeightSpec:
    """One weight file and how to get it."""

    # Registry key, e.g. "motion_generator" or "liveportrait/warping_module".
    name: str
    # Hugging Face Hub model repo the file is published in ("owner/name").
    repo_id: str
    # Path of the file inside the repo; must end in ".safetensors".
    filename: str
    # Group the file belongs to ("liveportrait", "motion"); `weights download GROUP` fetches a group.
    group: str
    # Pinned commit (or tag) in the repo; None means "main".
    revision: str | None = None
    # Expected sha256 of the whole file (lowercase hex); None means "not checked".
    sha256: str | None = None
    # Prefix selecting this network's tensors inside a file shared by several (without the dot);
    # `load_tensors` keeps only keys "<prefix>.*" and strips the prefix. None: the whole file.
    key_prefix: str | None = None
    # Expected file size in bytes, for display only (None when unknown).
    size_bytes: int | None = None
    # One line for people: what the file holds.
    description: str = ""
    # Path under the local weights folder; None means "<group>/<filename>".
    local_path: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.group:
            raise ValueError("WeightSpec needs a non-empty name and group")
        for field_name in ("filename", "local_path"):
            value = getattr(self, field_name)
            if value is not None and not value.endswith(".safetensors"):
                raise ValueError(
                    f"WeightSpec {self.name!r}: {field_name}={value!r} is not a .safetensors file; only "
                    "safetensors weights are loaded (no pickle). Convert the checkpoint to safetensors first."
                )
        if self.repo_id.count("/") != 1:
            raise ValueError(f"WeightSpec {self.name!r}: repo_id must be 'owner/name', got {self.repo_id!r}")
        if self.sha256 is not None and not _SHA256_RE.fullmatch(self.sha256):
            raise ValueError(f"WeightSpec {self.name!r}: sha256 must be 64 lowercase hex digits")
        if self.key_prefix is not None and (not self.key_prefix or self.key_prefix.endswith(".")):
            raise ValueError(f"WeightSpec {self.name!r}: key_prefix must be non-empty, without a final '.'")

    @property
    def relative_local_path(self) -> str:
        """Where the file sits under the local weights folder."""
        return self.local_path or f"{self.group}/{self.filename}"


REGISTRY: dict[str, WeightSpec] = {}


def register(spec: WeightSpec) -> WeightSpec:
    """Add `spec` to the registry. Registering the same spec twice is harmless; a different one
    under a taken name is an error (two files must never answer to one name)."""
    existing = REGISTRY.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"weights name {spec.name!r} is already registered with a different spec")
    REGISTRY[spec.name] = spec
    return spec


def specs(group: str | None = None) -> list[WeightSpec]:
    """Registered specs in registration order, optionally only those of one group."""
    return [s for s in REGISTRY.values() if group is None or s.group == group]


def get_spec(name_or_spec: str | WeightSpec) -> WeightSpec:
    """The spec itself, or the registered spec of that name (WeightsError listing the names if none)."""
    if isinstance(name_or_spec, WeightSpec):
        return name_or_spec
    try:
        return REGISTRY[name_or_spec]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "(none)"
        raise WeightsError(f"unknown weights name {name_or_spec!r}; registered names: {known}") from None


def groups() -> list[str]:
    """Group names in registration order."""
    return list(dict.fromkeys(s.group for s in REGISTRY.values()))


# LivePortrait's networks (`talkinghead.networks.liveportrait`): KwaiVGI/LivePortrait's weights (MIT) as
# safetensors. sha256 and sizes as published on the Hub (Git LFS pointers); see
# ../shared/reference/liveportrait/README.md "Kijai's files". The motion extractor's hash was read
# from a mirror whose other four files carry the same hashes as this repo; the spade generator's
# exact size was not published.
_LP_REPO = "Kijai/LivePortrait_safetensors"
for _stem, _sha, _size, _what in (
    ("appearance_feature_extractor", "38bef5de50a92bf1fc66e8c511051a19dfacdf80c37f8713425ec15dc9ca7d34",
     3_361_936, "LivePortrait F: appearance feature extractor (image → 3-D feature volume)"),
    ("motion_extractor", "3568cd410e29d046771acb55ecfdfe4c7c197d345bd8b7f95942ef63130b6c9e",
     112_496_256, "LivePortrait M: canonical keypoints, pose bins, expression"),
    ("warping_module", "f7b7834bd6039b4088f72e5161e60ad366f68a3763df8a3eac0bc0f9d46fdbbf",
     182_158_564, "LivePortrait W: dense motion + feature-volume warping"),
    ("spade_generator", "ca04fbec765745e9eae836d2d7522c274647b277ce5f25104fa1705b75222212",
     None, "LivePortrait G: SPADE decoder (warped features → image)"),
    ("stitching_retargeting_module", "60725cf3523ae413880da28ed583c9e84c5c25695a0cef1b77210ea31cc424ea",
     911_836, "LivePortrait S: stitching, lip and eye retargeting MLPs (prefixes retarget_*_module)"),
):
    register(WeightSpec(
        name=f"liveportrait/{_stem}", repo_id=_LP_REPO, filename=f"{_stem}.safetensors",
        group="liveportrait", sha256=_sha, size_bytes=_size, description=_what,
    ))

register(WeightSpec(
    name="motion_generator",
    repo_id="talkinghead/motion-generator",
    filename="motion_generator.safetensors",
    group="motion",
    local_path="motion_generator.safetensors",
    sha256="b69d0057bd07243bcf0cbfdec8bf4fe8b1a6482c7c7de35d60ad204751dea1f3",
    size_bytes=1_845_512,
    description="audio encoder + motion generator (log-mel → 68×3 landmark motion), trained by this project",
))


# --------------------------------------------------------------------------------------------
# Hashing with an in-process cache


_sha_cache: dict[tuple[str, int, int, int], str] = {}
_sha_lock = threading.Lock()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, streamed; remembered per (real path, inode, mtime, size) in this process."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_ino, st.st_mtime_ns, st.st_size)
    with _sha_lock:
        cached = _sha_cache.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(real, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _sha_lock:
        _sha_cache[key] = value
    return value


def clear_hash_cache() -> None:
    """Forget remembered hashes (tests)."""
    with _sha_lock:
        _sha_cache.clear()


def verify(spec: WeightSpec, path: Path) -> None:
    """Raise WeightsCorrupt when `path` does not have the spec's sha256 (no-op when the spec has none)."""
    if spec.sha256 is None:
        return
    actual = file_sha256(path)
    if actual != spec.sha256:
        raise WeightsCorrupt(
            f"weights file {path} ({spec.name}: {spec.filename} from Hub repo {spec.repo_id}) is corrupt "
            f"or a different version: expected sha256 {spec.sha256}, got {actual}. Delete it and download "
            f"it again: python -m talkinghead weights download {spec.name}"
        )


# --------------------------------------------------------------------------------------------
# Resolution


def weights_dir(local_dir: str | os.PathLike[str] | None = None) -> Path:
    """The local weights folder: `local_dir`, else $TALKINGHEAD_WEIGHTS_DIR, else <repo>/weights."""
    if local_dir is not None:
        return Path(local_dir)
    env = os.environ.get("TALKINGHEAD_WEIGHTS_DIR")
    return Path(env) if env else DEFAULT_WEIGHTS_DIR


@dataclass(frozen=True)
class Located:
    """Where a spec's file was found without downloading."""

    # "local" (weights folder) or "cache" (Hub cache).
    source: str
    # The file (for the cache: the snapshot path, usually a symlink into blobs/).
    path: Path


def locate(name_or_spec: str | WeightSpec, *, local_dir: str | os.PathLike[str] | None = None) -> Located | None:
    """Find the file in the weights folder or the Hub cache, without any network access or hashing."""
    spec = get_spec(name_or_spec)
    local = weights_dir(local_dir) / spec.relative_local_path
    if local.is_file():
        return Located("local", local)
    cached = hub.cached_file(spec.repo_id, spec.filename, revision=spec.revision)
    return Located("cache", cached) if cached is not None else None


def _not_found(spec: WeightSpec, local_dir: str | os.PathLike[str] | None, why: str) -> WeightsNotFound:
    local = weights_dir(local_dir) / spec.relative_local_path
    return WeightsNotFound(
        f"weights {spec.name!r} not found: {spec.filename} (Hub repo {spec.repo_id}"
        f"{'@' + spec.revision if spec.revision else ''}) is neither at {local} nor in the Hub cache "
        f"{hub.cache_dir()}, and {why}. Fetch it with: python -m talkinghead weights download {spec.group} "
        f"(on a machine with internet access), or copy the file to {local}."
    )


def download(spec: WeightSpec, *, force: bool = False) -> Path:
    """Download `spec`'s file into the Hub cache (call only when `hub.status().reachable`)."""
    try:
        return hub.download(spec.repo_id, spec.filename, revision=spec.revision, force=force)
    except hub.DownloadError as exc:
        raise WeightsNotFound(
            f"could not download {spec.filename} from Hub repo {spec.repo_id} for weights {spec.name!r}: "
            f"{exc}. Retry with: python -m talkinghead weights download {spec.name}"
        ) from exc


def resolve(
    name_or_spec: str | WeightSpec,
    *,
    local_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
) -> Path:
    """Path of a verified copy of the spec's file: weights folder → Hub cache → download.

    Raises WeightsNotFound (nowhere, and no download possible) or WeightsCorrupt (sha256 mismatch).
    A download is tried only when allowed and the Hub was found reachable (decided once, fast).
    """
    spec = get_spec(name_or_spec)
    found = locate(spec, local_dir=local_dir)
    if found is not None:
        verify(spec, found.path)
        return found.path
    if not allow_download:
        raise _not_found(spec, local_dir, "downloads were not allowed")
    status = hub.status()
    if not status.reachable:
        raise _not_found(spec, local_dir, f"the Hub cannot be used: {status.reason}")
    log.info("downloading %s from %s", spec.filename, spec.repo_id)
    path = download(spec)
    verify(spec, path)
    return path


def available(name_or_spec: str | WeightSpec, *, local_dir: str | os.PathLike[str] | None = None) -> bool:
    """True when the file is present (weights folder or Hub cache) and passes its checksum. No download."""
    try:
        resolve(name_or_spec, local_dir=local_dir, allow_download=False)
    except WeightsError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Loading


def split_by_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Tensors whose key is exactly under `prefix` ("<prefix>.<rest>"), with "<prefix>." removed.

    Exact: prefix "a" takes "a.b" but not "ab.c". A trailing "." on `prefix` is accepted. Raises
    WeightsError when nothing matches, naming the top-level prefixes that do exist.
    """
    prefix = prefix.removesuffix(".")
    if not prefix:
        raise ValueError("split_by_prefix needs a non-empty prefix")
    head = prefix + "."
    out = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
    if not out:
        present = ", ".join(sorted({k.split(".", 1)[0] for k in tensors})[:12]) or "(none)"
        raise WeightsError(f"no tensor key starts with {head!r}; top-level prefixes present: {present}")
    return out


def load_tensors(
    name_or_spec: str | WeightSpec,
    *,
    path: str | os.PathLike[str] | None = None,
    local_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
) -> dict[str, torch.Tensor]:
    """All tensors of the spec's file on CPU (only those under `spec.key_prefix`, prefix removed).

    The file is the resolved, verified one (`resolve`), or `path` when given: another version of the
    same network (e.g. a freshly trained one), read without a checksum.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    spec = get_spec(name_or_spec)
    registered = path is None
    path = resolve(spec, local_dir=local_dir, allow_download=allow_download) if registered else path
    try:
        tensors = load_file(path, device="cpu")
    except SafetensorError as exc:
        origin = f": {spec.filename} from Hub repo {spec.repo_id}" if registered else ", another version"
        fix = f"Delete it and download it again: python -m talkinghead weights download {spec.name}"
        raise WeightsCorrupt(
            f"weights file {path} ({spec.name}{origin}) is not a valid safetensors file ({exc}). "
            + (fix if registered else "Write it again.")
        ) from exc
    if spec.key_prefix is not None:
        tensors = split_by_prefix(tensors, spec.key_prefix)
    return tensors


def _few(keys: list[str], n: int = 5) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", … ({len(keys)} in all)" if len(keys) > n else "")


def load_state_strict(
    module: ModuleT, tensors: dict[str, torch.Tensor], *, source: str = "weights", fix: str | None = None
) -> ModuleT:
    """`module.load_state_dict(tensors, strict=True)`, then `.eval()`; returns the module.

    Missing keys, unexpected keys and shape mismatches become one WeightsError naming `source`, a few
    of the offending keys and, when given, `fix` (what to do), so a layout difference reads as such
    and not as a torch traceback. Nothing is copied unless everything fits.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    mismatched = [
        f"{k} {tuple(tensors[k].shape)}≠{tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)
    ]
    labelled = {"missing keys": missing, "unexpected keys": unexpected, "shape mismatches (file≠module)": mismatched}
    problems = [f"{label}: {_few(keys)}" for label, keys in labelled.items() if keys]
    if problems:
        raise WeightsError(
            f"{source} do not fit {type(module).__name__} ({len(tensors)} tensors for "
            f"{len(expected)} state-dict entries): " + "; ".join(problems) + (f". {fix}" if fix else "")
        )
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:  # anything the checks above did not foresee (e.g. dtype casts)
        raise WeightsError(f"{source} do not load into {type(module).__name__}: {exc}") from exc
    return module.eval()


def load_state_partial(
    module: torch.nn.Module, tensors: dict[str, torch.Tensor], *, source: str = "weights"
) -> tuple[list[str], list[str]]:
    """Copy the tensors whose keys `module` has (shapes must fit); returns (missing, unexpected) keys.

    The one non-strict load, for warm-starting a network from a related one; the caller judges the
    differences. The module's mode is left as it is.
    """
    try:
        result = module.load_state_dict(tensors, strict=False)
    except RuntimeError as exc:  # shape mismatches are refused even here
        raise WeightsError(f"{source} do not load into {type(module).__name__}: {exc}") from exc
    return list(result.missing_keys), list(result.unexpected_keys)


def load_module(
    module: ModuleT,
    name_or_spec: str | WeightSpec,
    *,
    path: str | os.PathLike[str] | None = None,
    local_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
) -> ModuleT:
    """Resolve, verify and strictly load the registered weights into `module`; returns it in eval mode.

    Every network's weights load through here. `path` reads another version of the same network's
    file instead, unverified (see `load_tensors`).
    """
    spec = get_spec(name_or_spec)
    tensors = load_tensors(spec, path=path, local_dir=local_dir, allow_download=allow_download)
    prefix = f", prefix {spec.key_prefix}" if spec.key_prefix else ""
    where = f"weights {spec.name!r} ({Path(path).name if path is not None else spec.filename}{prefix})"
    fix = f"Use the unmodified file from Hub repo {spec.repo_id}: python -m talkinghead weights download {spec.name}"
    return load_state_strict(module, tensors, source=where, fix=fix if path is None else None)
