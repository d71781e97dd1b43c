"""Where a model package is: ``models:/`` URIs, ``runs:/`` artifacts and local folders, and the
local cache packages are materialized into before loading."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopml.errors import InvalidInputError, NotFoundError
from loopml.models.package import MANIFEST_NAME, ModelManifest

if TYPE_CHECKING:
    from loopml.entities.models import ModelVersion
    from loopml.tracking.context import TrackingContext

__all__ = ["ModelRef", "PackageLocation", "locate", "materialize", "parse_model_uri"]

_MODELS = "models:/"
_RUNS = "runs:/"
_MODEL_URI = re.compile(r"^models:/([^/@]+)(?:/(\d+)|@([^/@]+))?$")
_RUN_URI = re.compile(r"^runs:/([0-9a-f]{32})/(.+)$")
_HINT = (
    "write models:/<name>/<version>, models:/<name>@<alias>, runs:/<run_id>/<path> "
    "or the path of a package folder"
)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed ``models:/`` URI: a version number, an alias, or neither (the latest)."""

    name: str
    version: int | None = None
    alias: str | None = None


def parse_model_uri(uri: str) -> ModelRef:
    """Parse ``models:/name/3``, ``models:/name@alias`` or ``models:/name`` (latest).

    Raises:
        InvalidInputError: anything else (``field="uri"``).
    """
    match = _MODEL_URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise InvalidInputError(f"not a model URI: {uri!r}", field="uri", uri=str(uri), hint=_HINT)
    name, number, alias = match.groups()
    return ModelRef(name, int(number) if number else None, alias)


@dataclass(frozen=True, slots=True)
class PackageLocation:
    """A package found: either a local folder, or a manifest blob in the object store."""

    uri: str
    folder: Path | None = None
    package_blob: str | None = None
    model_version: ModelVersion | None = None


def locate(ctx: TrackingContext, uri: str) -> PackageLocation:
    """Find the package ``uri`` names.

    Raises:
        InvalidInputError: a malformed URI.
        NotFoundError: no such model, version, alias, run artifact or folder.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError("a model URI is needed", field="uri", hint=_HINT)
    text = uri.strip()
    if text.startswith(_MODELS):
        ref = parse_model_uri(text)
        version = _quick_lookup(ctx, ref)
        if version is not None:
            return PackageLocation(text, package_blob=version.package_blob, model_version=version)
        store = ctx.store
        if ref.version is not None:
            version = store.get_model_version(ref.name, ref.version)
        else:
            version = store.get_model_version_by_alias(ref.name, ref.alias or "latest")
        return PackageLocation(text, package_blob=version.package_blob, model_version=version)
    if text.startswith(_RUNS):
        match = _RUN_URI.match(text)
        if match is None:
            raise InvalidInputError(f"not a run artifact URI: {text!r}", field="uri", hint=_HINT)
        run_id, path = match[1], match[2].strip("/")
        wanted = f"{path}/{MANIFEST_NAME}"
        entries = ctx.store.list_artifacts(run_id, wanted)
        entry = next((e for e in entries if e.path == wanted), None)
        if entry is None:
            raise NotFoundError(
                f"run {run_id} has no model package at {path!r}",
                uri=text,
                run_id=run_id,
                hint=f"see `loopml artifacts list {run_id}`",
            )
        return PackageLocation(text, package_blob=entry.blob)
    folder = Path(text).expanduser()
    if folder.is_dir():
        if not (folder / MANIFEST_NAME).is_file():
            raise InvalidInputError(
                f"{folder} is not a loopml model package (no {MANIFEST_NAME})",
                field="uri",
                hint="give a folder written by loopml.models.save_model",
            )
        return PackageLocation(text, folder=folder.resolve())
    if "://" in text or text.startswith(("models:", "runs:")):
        raise InvalidInputError(f"not a model URI: {text!r}", field="uri", hint=_HINT)
    raise NotFoundError(f"no model package at {text!r}", uri=text, hint=_HINT)


def _quick_lookup(ctx: TrackingContext, ref: ModelRef) -> ModelVersion | None:
    """The version from a SQLite store without opening the full Store (no SQLAlchemy import:
    a cold ``load`` is mostly this lookup); None when only the full Store can answer."""
    uri = ctx.settings.tracking_uri
    if not uri.startswith("sqlite:"):
        return None
    from loopml.store.sql.quick_read import read_model_version

    return read_model_version(uri, ref.name, version=ref.version, alias=ref.alias)


def read_location_manifest(ctx: TrackingContext, location: PackageLocation) -> ModelManifest:
    """The manifest of a located package (one blob read, verified)."""
    if location.folder is not None:
        return ModelManifest.read(location.folder)
    assert location.package_blob is not None
    return ModelManifest.from_yaml(ctx.objects.get_bytes(location.package_blob))


def cache_root(ctx: TrackingContext) -> Path:
    """Where packages are materialized: beside a local object store, else the user cache."""
    configured = os.environ.get("LOOPML_CACHE_DIR")
    if configured:
        return Path(configured) / "models"
    local = ctx.objects.local_root
    if local is not None:
        return local.parent / "cache" / "models"
    return Path.home() / ".cache" / "loopml" / "models"


def materialize(ctx: TrackingContext, location: PackageLocation, manifest: ModelManifest) -> Path:
    """A local folder holding the package: the folder itself, or a verified copy in the cache.

    Each file is checked against its hash while it is copied; the copy becomes visible (one
    rename) only when complete, so a crash never leaves a half package in the cache.
    """
    if location.folder is not None:
        _verify_folder(location.folder, manifest)
        return location.folder
    assert location.package_blob is not None
    root = cache_root(ctx)
    final = root / location.package_blob
    if (final / MANIFEST_NAME).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        for rel, info in manifest.files.items():
            target = (staging / rel).resolve()
            if not target.is_relative_to(staging.resolve()):
                raise InvalidInputError(f"package path {rel!r} escapes its folder", field="files")
            target.parent.mkdir(parents=True, exist_ok=True)
            ctx.objects.get_file(info.blake3, target)
        (staging / MANIFEST_NAME).write_bytes(ctx.objects.get_bytes(location.package_blob))
        try:
            staging.rename(final)
        except OSError:
            if not (final / MANIFEST_NAME).is_file():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _verify_folder(folder: Path, manifest: ModelManifest) -> None:
    """A package folder on disk must hold exactly the bytes its manifest lists."""
    from loopml.errors import CorruptObjectError
    from loopml.models.package import hash_package_files

    found = hash_package_files(folder)
    for rel, info in manifest.files.items():
        have = found.get(rel)
        if have is None:
            raise CorruptObjectError(
                f"{folder / rel} is missing from the model package",
                uri=str(folder),
                hint="the package is incomplete; save the model again",
            )
        if have.blake3 != info.blake3:
            raise CorruptObjectError(
                f"{folder / rel} does not match the hash in the manifest",
                uri=str(folder),
                hint="the file was changed after the package was saved; save the model again",
            )
