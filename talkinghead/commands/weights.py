"""`python -m talkinghead weights list|download|verify|upload`: manage the registered weight files.

Exit codes: 0 when everything asked for is fine; 1 when a file is missing, corrupt or could not be
downloaded or uploaded; 2 for a bad argument (unknown name or group).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from talkinghead import hub, publish, weights
from talkinghead.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights-dir", default=None,
        help="local weights folder (default: $TALKINGHEAD_WEIGHTS_DIR, else weights/ in the repository)",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="show every registered file, where it is found, its size and checksum state")
    p = sub.add_parser("download", help="fetch files from the Hugging Face Hub into its cache")
    p.add_argument("targets", nargs="*", metavar="GROUP_OR_NAME", help="groups or names (default: all)")
    p.add_argument("--force", action="store_true", help="download again even when a copy is present")
    p = sub.add_parser("verify", help="check the sha256 of every file present (no download)")
    p.add_argument("targets", nargs="*", metavar="GROUP_OR_NAME", help="groups or names (default: all)")
    p = sub.add_parser("upload", help="publish a local file to the Hub (needs a write token)")
    p.add_argument("name", help="registered name, e.g. motion_generator")
    p.add_argument("--repo-id", default=None, help="target repo (default: the spec's repo)")


def select(targets: list[str]) -> list[weights.WeightSpec]:
    """Specs named by group or name, in registry order, each once; all of them when `targets` is empty."""
    if not targets:
        return weights.specs()
    chosen: dict[str, weights.WeightSpec] = {}
    for target in targets:
        if target in weights.REGISTRY:
            chosen.setdefault(target, weights.REGISTRY[target])
        elif target in weights.groups():
            for spec in weights.specs(target):
                chosen.setdefault(spec.name, spec)
        else:
            raise InputError(
                f"unknown weights group or name {target!r}: use one of the groups "
                f"{', '.join(weights.groups())} or a name shown by `python -m talkinghead weights list`"
            )
    return [s for s in weights.specs() if s.name in chosen]


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _check(spec: weights.WeightSpec, found: weights.Located | None) -> tuple[str, bool]:
    """(state text, ok) of one spec without downloading: ok is False only for a checksum mismatch."""
    if found is None:
        return "-", True
    if spec.sha256 is None:
        return "no sha256 registered", True
    try:
        weights.verify(spec, found.path)
    except weights.WeightsCorrupt:
        return f"MISMATCH (got {weights.file_sha256(found.path)[:16]}…)", False
    return "sha256 ok", True


def _verified(spec: weights.WeightSpec, label: str, path: Path | None, *, force: bool = False) -> Path | None:
    """``path`` (downloaded first when None) once its checksum is verified; None after printing
    ``label`` and the reason when it cannot be fetched or does not match."""
    try:
        path = weights.download(spec, force=force) if path is None else path
        weights.verify(spec, path)
    except weights.WeightsError as exc:
        print(f"{label:<9} {spec.name}: {exc}")
        return None
    return path


def _list(args: argparse.Namespace) -> int:
    rows = [("NAME", "GROUP", "FILE", "WHERE", "SIZE", "CHECK")]
    for spec in weights.specs():
        found = weights.locate(spec, local_dir=args.weights_dir)
        size = found.path.stat().st_size if found else spec.size_bytes
        state, _ = _check(spec, found)
        where = found.source if found else "missing"
        rows.append((spec.name, spec.group, spec.filename, where, _size(size), state))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\nlocal folder: {weights.weights_dir(args.weights_dir)}\nHub cache:    {hub.cache_dir()}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    failed = 0
    for spec in select(args.targets):
        found = weights.locate(spec, local_dir=args.weights_dir)
        if found is None:
            fetch = f"python -m talkinghead weights download {spec.group}"
            print(f"missing   {spec.name}: {spec.filename} ({fetch})")
            failed += bool(args.targets)  # missing counts as a failure only when asked for by name
            continue
        if spec.sha256 is None:
            sha = weights.file_sha256(found.path)
            print(f"unchecked {spec.name}: {found.path} has sha256 {sha}; none registered")
            continue
        if _verified(spec, "CORRUPT", found.path) is None:
            failed += 1
            continue
        print(f"ok        {spec.name}: {found.path} ({found.source})")
    return 1 if failed else 0


def _download(args: argparse.Namespace) -> int:
    chosen = select(args.targets)
    todo = []
    failed = 0
    for spec in chosen:
        found = None if args.force else weights.locate(spec, local_dir=args.weights_dir)
        if found is None:
            todo.append(spec)
            continue
        state, ok = _check(spec, found)
        print(f"present   {spec.name}: {found.path} ({found.source}, {state})")
        if not ok:
            print(f"          delete {found.path} and run this command again to fetch a good copy")
            failed += 1
    if todo:
        status = hub.status()
        if not status.reachable:
            print(f"cannot download {len(todo)} file(s): {status.reason}")
            folder = weights.weights_dir(args.weights_dir)
            for spec in todo:
                print(f"missing   {spec.name}: {spec.filename} from Hub repo {spec.repo_id}"
                      f" (or copy it to {folder / spec.relative_local_path})")
            print("run this again where the Hub is reachable, or copy the files to the places shown")
            return 1
        for spec in todo:
            path = _verified(spec, "FAILED", None, force=args.force)
            if path is None:
                failed += 1
                continue
            print(f"downloaded {spec.name}: {path}")
    return 1 if failed else 0


def _upload(args: argparse.Namespace) -> int:
    if args.name not in weights.REGISTRY:
        raise InputError(f"unknown weights name {args.name!r}: see `python -m talkinghead weights list`")
    done = publish.upload(args.name, repo_id=args.repo_id, local_dir=args.weights_dir)
    print(f"uploaded {done.path_in_repo} to {done.repo_id}: {done.commit_url}\nsha256 {done.sha256}")
    return 0


def run(args: argparse.Namespace) -> int:
    action = {"list": _list, "download": _download, "verify": _verify, "upload": _upload}[args.action]
    try:
        return action(args)
    except weights.WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
