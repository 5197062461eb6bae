"""Publishing a registered weight file on the Hugging Face Hub (`python -m talkinghead weights upload`).

The file is the one `weights.resolve` finds locally (never downloaded), so it passes the registry's
checksum when the spec has one; the sha256 reported back is the value to put into the spec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from talkinghead import hub, weights


@dataclass(frozen=True)
class Uploaded:
    """What `upload` published."""

    # Hub repo the file went to.
    repo_id: str
    # Path of the file inside the repo.
    path_in_repo: str
    # sha256 of the uploaded file: the value to put into the spec.
    sha256: str
    # URL of the commit the upload created.
    commit_url: str


def upload(
    name_or_spec: str | weights.WeightSpec,
    *,
    repo_id: str | None = None,
    token: str | None = None,
    local_dir: str | os.PathLike[str] | None = None,
) -> Uploaded:
    """Publish the spec's local file to the Hub (creating the repo if needed).

    The file comes from the weights folder or the Hub cache and must pass its checksum when the spec
    has one. The token defaults to huggingface_hub's own ($HF_TOKEN or `hf auth login`).
    """
    from huggingface_hub import HfApi

    spec = weights.get_spec(name_or_spec)
    path = weights.resolve(spec, local_dir=local_dir, allow_download=False)
    status = hub.status()
    if not status.reachable:
        raise weights.WeightsError(f"cannot upload {path} to the Hub: {status.reason}")
    target = repo_id or spec.repo_id
    sha = weights.file_sha256(path)
    api = HfApi(token=token)
    api.create_repo(target, repo_type="model", exist_ok=True)
    info = api.upload_file(
        path_or_fileobj=str(path),
        path_in_repo=spec.filename,
        repo_id=target,
        repo_type="model",
        commit_message=f"Upload {spec.filename} (sha256 {sha})",
    )
    return Uploaded(repo_id=target, path_in_repo=spec.filename, sha256=sha, commit_url=str(info.commit_url))
