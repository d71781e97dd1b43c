"""Checks on the registry's arguments, before anything reaches the database.

Each raises :class:`~loopml.errors.InvalidInputError` naming the field (``name``, ``alias``,
``version``, ...) and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from loopml.errors import InvalidInputError
from loopml.store.sql import validation

__all__ = [
    "LATEST",
    "NewModelVersion",
    "check_actor",
    "check_alias",
    "check_description",
    "check_model_name",
    "check_tag",
    "check_version",
    "prepare_version",
]

#: The alias every model has: its highest live version. It cannot be set by hand.
LATEST = "latest"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_FLAVOR_MAX = 64


def check_model_name(name: object) -> str:
    """A model name: a letter or digit, then up to 127 letters, digits, ``.``, ``_``, ``-``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"model name {name!r} is not valid",
            field="name",
            hint="use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def check_alias(alias: object, *, allow_latest: bool = False) -> str:
    """An alias: a lower-case letter, then up to 63 lower-case letters, digits, ``_``, ``-``.

    ``latest`` is reserved (it always means the highest live version); it is accepted only
    for lookups (``allow_latest``).
    """
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInputError(
            f"alias {alias!r} is not valid",
            field="alias",
            hint="use 1-64 lower-case letters, digits, '_' or '-', starting with a letter,"
            " e.g. 'champion'",
        )
    if alias == LATEST and not allow_latest:
        raise InvalidInputError(
            "alias 'latest' is reserved: it always points at the highest live version",
            field="alias",
            hint="choose another alias, e.g. 'champion' or 'staging'",
        )
    return alias


def check_version(version: object) -> int:
    """A version number: an integer >= 1."""
    number = validation.check_timestamp(version, "version")
    if number < 1:
        raise InvalidInputError(f"version must be >= 1, got {version!r}", field="version")
    return number


def check_description(value: object) -> str:
    """A description: text without NUL characters ("" clears it)."""
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidInputError(
            f"description must be text without NUL characters, got {value!r}",
            field="description",
        )
    return value


def check_actor(actor: object) -> str | None:
    """Who makes a change: None or a name (as for ``created_by``)."""
    return None if actor is None else validation.check_name(actor, "actor")


def check_tag(key: object, value: object) -> tuple[str, str]:
    """A model or version tag: a key and a text value, checked as run tags are."""
    clean = validation.check_key(key, "tag")
    return clean, validation.check_text(value, key=clean, kind="tag")


@dataclass(frozen=True, slots=True)
class NewModelVersion:
    """The checked arguments of ``create_model_version``."""

    name: str
    package_blob: str
    file_blobs: tuple[str, ...]
    flavor: str
    source: str
    run_id: str | None
    artifact_path: str | None
    description: str | None
    tags: Mapping[str, str]
    actor: str | None
    project: str | None


def prepare_version(
    name: str,
    *,
    package_blob: str,
    file_blobs: Sequence[str],
    flavor: str,
    source: str,
    run_id: str | None,
    artifact_path: str | None,
    description: str | None,
    tags: Mapping[str, str] | None,
    actor: str | None,
    project: str | None,
) -> NewModelVersion:
    """Check the arguments of ``create_model_version``. Raises InvalidInputError."""
    if isinstance(file_blobs, str):
        raise InvalidInputError(
            "file_blobs must be a list of hashes, not one string", field="file_blobs"
        )
    if (
        not isinstance(flavor, str)
        or not flavor
        or len(flavor) > _FLAVOR_MAX
        or not flavor.isprintable()
    ):
        raise InvalidInputError(
            f"flavor must be 1 to {_FLAVOR_MAX} printable characters, got {flavor!r}",
            field="flavor",
        )
    if not isinstance(source, str) or not source.strip() or "\x00" in source:
        raise InvalidInputError(
            f"source must be a non-empty URI or path, got {source!r}", field="source"
        )
    clean_tags = dict(check_tag(key, value) for key, value in (tags or {}).items())
    return NewModelVersion(
        name=check_model_name(name),
        package_blob=validation.check_blob(package_blob, "package_blob"),
        file_blobs=tuple(sorted({validation.check_blob(b, "file_blobs") for b in file_blobs})),
        flavor=flavor,
        source=source,
        run_id=None if run_id is None else validation.check_run_id(run_id),
        artifact_path=None
        if artifact_path is None
        else validation.check_artifact_path(artifact_path, "artifact_path"),
        description=None if description is None else check_description(description),
        tags=MappingProxyType(clean_tags),
        actor=check_actor(actor),
        project=None if project is None else validation.check_name(project, "project"),
    )
