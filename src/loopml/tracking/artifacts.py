"""Run artifacts: files put in the object store and mapped to run paths in the Store."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loopml.entities import ArtifactEntry, now_ms
from loopml.errors import InvalidInputError, NotFoundError
from loopml.tracking.context import TrackingContext
from loopml.tracking.validation import check_artifact_path

__all__ = [
    "download_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_bytes",
    "log_dict",
    "log_figure",
    "log_text",
]


def _join(prefix: str | None, name: str) -> str:
    return check_artifact_path(f"{prefix.strip('/')}/{name}" if prefix else name)


def log_artifact(
    ctx: TrackingContext,
    run_id: str,
    local_path: str | os.PathLike[str],
    artifact_path: str | None = None,
) -> ArtifactEntry:
    """Store one local file as ``<artifact_path>/<file name>`` of the run."""
    path = Path(local_path)
    if not path.is_file():
        raise InvalidInputError(
            f"{path} is not a file",
            field="local_path",
            hint="use log_artifacts() for a folder" if path.is_dir() else "check the path",
        )
    blob = ctx.objects.put_file(path)
    entry = ArtifactEntry(run_id, _join(artifact_path, path.name), blob.hex, blob.size, now_ms())
    ctx.store.record_artifacts(run_id, [entry])
    return entry


def log_artifacts(
    ctx: TrackingContext,
    run_id: str,
    local_dir: str | os.PathLike[str],
    artifact_path: str | None = None,
) -> list[ArtifactEntry]:
    """Store every file under ``local_dir`` (recursively) below ``artifact_path``."""
    root = Path(local_dir)
    if not root.is_dir():
        raise InvalidInputError(
            f"{root} is not a folder",
            field="local_dir",
            hint="use log_artifact() for a single file",
        )
    files = sorted(p for p in root.rglob("*") if p.is_file())
    entries: list[ArtifactEntry] = []
    from rich.progress import Progress

    with Progress(transient=True, disable=len(files) < 50) as progress:
        task = progress.add_task("logging artifacts", total=len(files))
        for file in files:
            blob = ctx.objects.put_file(file)
            rel = file.relative_to(root).as_posix()
            entries.append(
                ArtifactEntry(run_id, _join(artifact_path, rel), blob.hex, blob.size, now_ms())
            )
            progress.advance(task)
    if entries:
        ctx.store.record_artifacts(run_id, entries)
    return entries


def log_bytes(ctx: TrackingContext, run_id: str, data: bytes, artifact_file: str) -> ArtifactEntry:
    """Store ``data`` as the run file ``artifact_file``."""
    path = check_artifact_path(artifact_file)
    blob = ctx.objects.put_bytes(data)
    entry = ArtifactEntry(run_id, path, blob.hex, blob.size, now_ms())
    ctx.store.record_artifacts(run_id, [entry])
    return entry


def log_text(ctx: TrackingContext, run_id: str, text: str, artifact_file: str) -> ArtifactEntry:
    """Store ``text`` (UTF-8) as ``artifact_file``."""
    return log_bytes(ctx, run_id, text.encode("utf-8"), artifact_file)


def log_dict(
    ctx: TrackingContext, run_id: str, data: Mapping[str, Any] | list[Any], artifact_file: str
) -> ArtifactEntry:
    """Store ``data`` as JSON, or YAML when ``artifact_file`` ends in .yaml/.yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        text = yaml.safe_dump(data, sort_keys=False)
    else:
        try:
            text = json.dumps(data, indent=2, default=_json_default)
        except TypeError as exc:
            raise InvalidInputError(
                f"cannot write {artifact_file} as JSON: {exc}", field="dictionary"
            ) from exc
    return log_text(ctx, run_id, text, artifact_file)


def _json_default(value: object) -> object:
    for attr in ("tolist", "item"):  # numpy arrays and scalars
        if hasattr(value, attr):
            return getattr(value, attr)()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def log_figure(ctx: TrackingContext, run_id: str, figure: Any, artifact_file: str) -> ArtifactEntry:
    """Store a matplotlib figure, rendered in the format the file extension names."""
    fmt = Path(artifact_file).suffix.lstrip(".").lower() or "png"
    if not hasattr(figure, "savefig"):
        raise InvalidInputError(
            f"log_figure needs a matplotlib Figure, got {type(figure).__name__}", field="figure"
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight")
    return log_bytes(ctx, run_id, buffer.getvalue(), artifact_file)


def download_artifacts(
    ctx: TrackingContext, run_id: str, path: str = "", dest: str | os.PathLike[str] = "."
) -> Path:
    """Copy the run's file ``path`` (or every file under the folder ``path``) into ``dest``.

    Each file is verified against its hash while it is copied.

    Returns:
        The local path of the file or folder.
    """
    prefix = check_artifact_path(path) if path else ""
    entries = ctx.store.list_artifacts(run_id, prefix)
    if not entries:
        raise NotFoundError(
            f"run {run_id} has no artifact {path!r}",
            run_id=run_id,
            field="path",
            hint=f"see `loopml artifacts list {run_id}`",
        )
    dest_root = Path(dest).resolve()
    base = posix_parent(prefix)
    for entry in entries:
        rel = entry.path[len(base) :].lstrip("/") if base else entry.path
        target = (dest_root / rel).resolve()
        if not target.is_relative_to(dest_root):
            raise InvalidInputError(
                f"artifact path {entry.path!r} escapes {dest_root}", field="path"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        ctx.objects.get_file(entry.blob, target)
    return dest_root / Path(prefix).name if prefix else dest_root


def posix_parent(path: str) -> str:
    """The folder part of a run path ('' at the top)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""
