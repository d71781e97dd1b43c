"""The model registry, the Python way: register packages as versions, move aliases, tag.

Every change goes through the Store in one transaction and is written to the model's audit
log with who did it (``LOOPML_USER``, else the login name).
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from loopml.errors import CorruptObjectError, InvalidInputError, NotFoundError
from loopml.models.package import MANIFEST_NAME

if TYPE_CHECKING:
    from loopml.entities.models import AuditEvent, ModelVersion, RegisteredModel
    from loopml.store import Store

__all__ = [
    "check_model_name",
    "current_actor",
    "delete_alias",
    "delete_model",
    "delete_tag",
    "delete_version",
    "get_model",
    "history",
    "list_models",
    "list_versions",
    "register_model",
    "resolve",
    "set_alias",
    "set_description",
    "set_tag",
]

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_model_name(name: str, field: str = "name") -> str:
    """``name`` if it is a valid registered model name, else InvalidInputError on ``field``."""
    if not isinstance(name, str) or not MODEL_NAME.match(name):
        raise InvalidInputError(
            f"invalid model name {name!r}",
            field=field,
            hint="use letters, digits, '.', '_' and '-' (up to 128), starting with a letter "
            "or digit",
        )
    return name


def current_actor() -> str | None:
    """Who is making a change: ``LOOPML_USER``, else the login name."""
    configured = os.environ.get("LOOPML_USER")
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return None


def _store() -> Store:
    from loopml.tracking.context import get_context

    return get_context().store


def resolve(uri: str) -> ModelVersion:
    """The registered version a ``models:/`` URI names (``/3``, ``@alias``, ``@latest``)."""
    from loopml.models.uris import parse_model_uri

    ref = parse_model_uri(uri)
    store = _store()
    if ref.version is not None:
        return store.get_model_version(ref.name, ref.version)
    return store.get_model_version_by_alias(ref.name, ref.alias or "latest")


def register_model(
    source: str,
    name: str,
    *,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> ModelVersion:
    """Register the package at ``source`` (``runs:/<id>/<path>`` or a package folder) as a
    new version of ``name`` (created if new).

    Example:
        >>> register_model("runs:/0192.../model", "churn")   # doctest: +SKIP
    """
    from loopml.models.uris import locate, read_location_manifest
    from loopml.tracking.context import get_context

    check_model_name(name)
    ctx = get_context()
    location = locate(ctx, source)
    manifest = read_location_manifest(ctx, location)
    run_id = None
    artifact_path = None
    if location.folder is not None:
        folder = location.folder
        package_blob = ctx.objects.put_file(folder / MANIFEST_NAME).hex
        file_blobs = [package_blob]
        root = folder.resolve()
        for rel, info in manifest.files.items():
            path = (folder / rel).resolve()
            if not path.is_relative_to(root):
                raise InvalidInputError(
                    f"the manifest names {rel!r}, outside the package folder",
                    field="files",
                    uri=source,
                    hint="a package lists only its own files; save the model again",
                )
            blob = ctx.objects.put_file(path)
            if blob.hex != info.blake3:
                raise CorruptObjectError(
                    f"{folder / rel} changed since the package was saved",
                    uri=source,
                    hint="save the model again",
                )
            file_blobs.append(blob.hex)
        source_text = str(Path(folder).resolve())
    else:
        assert location.package_blob is not None
        package_blob = location.package_blob
        file_blobs = [package_blob, *(info.blake3 for info in manifest.files.values())]
        source_text = source.strip()
        if source_text.startswith("runs:/"):
            run_id, _, artifact_path = source_text[len("runs:/") :].partition("/")
    run_id = run_id or manifest.run_id
    project = _project_for(name, run_id)
    if run_id is not None and project is None:
        run_id = None  # the package names a run this store does not have
        project = _project_for(name, None)
    return ctx.store.create_model_version(
        name,
        package_blob=package_blob,
        file_blobs=file_blobs,
        flavor=manifest.flavor,
        source=source_text,
        run_id=run_id,
        artifact_path=artifact_path,
        description=description,
        tags=tags,
        actor=current_actor(),
        project=project,
    )


def _project_for(name: str, run_id: str | None) -> str | None:
    """The project a new version lands in: its run's, else the model's, else the configured
    one. None when ``run_id`` names no run here."""
    from loopml.tracking.context import get_context

    ctx = get_context()
    if run_id is not None:
        try:
            return ctx.store.get_run(run_id).project
        except NotFoundError:
            return None
    try:
        return ctx.store.get_registered_model(name).project or ctx.settings.project
    except NotFoundError:
        return ctx.settings.project


def set_alias(name: str, alias: str, version: int) -> None:
    """Point ``alias`` (e.g. ``champion``) at ``version``, moving it atomically if set."""
    _store().set_model_alias(name, alias, int(version), actor=current_actor())


def delete_alias(name: str, alias: str) -> None:
    """Remove an alias."""
    _store().delete_model_alias(name, alias, actor=current_actor())


def set_tag(name: str, key: str, value: str, *, version: int | None = None) -> None:
    """Tag the model, or one version of it."""
    _store().set_model_tag(name, key, str(value), version=version, actor=current_actor())


def delete_tag(name: str, key: str, *, version: int | None = None) -> None:
    """Remove a tag from the model or a version."""
    _store().delete_model_tag(name, key, version=version, actor=current_actor())


def set_description(name: str, description: str, *, version: int | None = None) -> None:
    """Describe the model, or one version of it."""
    _store().set_model_description(name, description, version=version, actor=current_actor())


def delete_version(name: str, version: int) -> None:
    """Delete a version (its aliases go with it; the audit log keeps the record)."""
    _store().delete_model_version(name, int(version), actor=current_actor())


def delete_model(name: str) -> None:
    """Delete a registered model and its versions (the audit log keeps the record; version
    numbers are never reused if the name is registered again)."""
    _store().delete_registered_model(name, actor=current_actor())


def get_model(name: str) -> RegisteredModel:
    """A registered model with its latest version, aliases and tags."""
    return _store().get_registered_model(name)


def list_models() -> list[RegisteredModel]:
    """Every registered model, by name."""
    return _store().list_registered_models()


def list_versions(name: str) -> list[ModelVersion]:
    """The versions of ``name``, oldest first."""
    return _store().list_model_versions(name)


def history(name: str, *, version: int | None = None) -> list[AuditEvent]:
    """The audit log of ``name`` (or of one version), oldest first."""
    return _store().list_model_audit(name, version=version)
