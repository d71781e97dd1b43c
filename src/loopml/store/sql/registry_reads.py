"""Reading the model registry, and the row lookups its writes share.

:func:`find_model` is where every write takes its lock: ``FOR UPDATE`` on the model's row on
PostgreSQL (SQLite's write transaction already holds the only write lock).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import Select, func, select, union
from sqlalchemy.engine import Connection

from loopml.entities import AuditEvent, ModelVersion, RegisteredModel
from loopml.errors import NotFoundError
from loopml.store.sql.registry_checks import LATEST
from loopml.store.sql.schema import (
    model_aliases,
    model_audit,
    model_tags,
    model_version_blobs,
    model_versions,
    projects,
    registered_models,
)

__all__ = [
    "MODEL_LEVEL",
    "ModelRow",
    "alias_target",
    "find_model",
    "get_model",
    "get_version",
    "get_version_by_alias",
    "list_audit",
    "list_models",
    "list_versions",
    "live_version",
    "no_alias",
    "referenced_blobs",
]

#: ``model_tags.version`` of a tag on the model itself (versions start at 1).
MODEL_LEVEL = 0

_rm, _mv, _tags = registered_models.c, model_versions.c, model_tags.c


@dataclass(frozen=True, slots=True)
class ModelRow:
    """The row of a registered model, as the writes need it."""

    id: str
    name: str
    project_id: str | None
    project: str | None
    deleted_at: int | None


def _project_name(project_id: Any) -> Any:
    return select(projects.c.name).where(projects.c.id == project_id).scalar_subquery()


def find_model(conn: Connection, name: str, *, lock: bool, deleted_ok: bool = False) -> ModelRow:
    """Model ``name``'s row, locked for the transaction's writes when ``lock`` (PostgreSQL).

    Raises:
        NotFoundError: no such model, or it was deleted (unless ``deleted_ok``).
    """
    query = select(_rm.id, _rm.name, _rm.project_id, _project_name(_rm.project_id), _rm.deleted_at)
    query = query.where(_rm.name == name)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update(of=registered_models)
    row = conn.execute(query).first()
    if row is None or (row[4] is not None and not deleted_ok):
        gone = "" if row is None else " (it was deleted)"
        raise NotFoundError(
            f"model {name!r} does not exist{gone}",
            field="name",
            uri=f"models:/{name}",
            hint="list models with `loopml models list`",
        )
    return ModelRow(*row)


def live_version(conn: Connection, model: ModelRow, version: int) -> tuple[str, str | None]:
    """The id and description of live version ``version``. Raises NotFoundError."""
    row = conn.execute(
        select(_mv.id, _mv.description, _mv.deleted_at).where(
            _mv.model_id == model.id, _mv.version == version
        )
    ).first()
    if row is None or row[2] is not None:
        raise _no_version(model.name, version, deleted=row is not None)
    return row[0], row[1]


def _no_version(name: str, version: int, *, deleted: bool = False) -> NotFoundError:
    gone = " (it was deleted)" if deleted else ""
    return NotFoundError(
        f"model {name!r} has no version {version}{gone}",
        field="version",
        uri=f"models:/{name}/{version}",
        hint=f"list its versions with `loopml models versions {name}`",
    )


def alias_target(conn: Connection, model: ModelRow, alias: str) -> int | None:
    """The version ``alias`` of ``model`` points at; None when it is not set."""
    query = (
        select(_mv.version)
        .select_from(model_aliases.join(model_versions, _mv.id == model_aliases.c.version_id))
        .where(model_aliases.c.model_id == model.id, model_aliases.c.alias == alias)
    )
    return conn.execute(query).scalar()


def no_alias(name: str, alias: str) -> NotFoundError:
    """The error for an alias that is not set."""
    return NotFoundError(
        f"model {name!r} has no alias {alias!r}",
        field="alias",
        uri=f"models:/{name}@{alias}",
        hint=f"set it with `loopml models alias {name} {alias} VERSION`",
    )


def _versions_query(model: ModelRow) -> Select[Any]:
    return (
        select(
            _mv.id,
            _mv.version,
            _mv.created_at,
            _mv.package_blob,
            _mv.flavor,
            _mv.source,
            _mv.run_id,
            _mv.artifact_path,
            _mv.created_by,
            _mv.description,
            _project_name(_mv.project_id),
        )
        .where(_mv.model_id == model.id, _mv.deleted_at.is_(None))
        .order_by(_mv.version)
    )


def _load_versions(
    conn: Connection, model: ModelRow, version: int | None = None
) -> list[ModelVersion]:
    query = _versions_query(model)
    tag_query = select(_tags.version, _tags.key, _tags.value).where(
        _tags.model_id == model.id, _tags.version != MODEL_LEVEL
    )
    if version is not None:
        query = query.where(_mv.version == version)
        tag_query = tag_query.where(_tags.version == version)
    rows = conn.execute(query).all()
    if not rows:
        return []
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for number, key, value in conn.execute(tag_query):
        tags[number][key] = value
    aliases: dict[int, list[str]] = defaultdict(list)
    for _, alias, number in conn.execute(_alias_rows([model.id])):
        aliases[number].append(alias)
    return [
        ModelVersion(
            id=row[0],
            name=model.name,
            version=row[1],
            created_at=row[2],
            package_blob=row[3],
            flavor=row[4],
            source=row[5],
            run_id=row[6],
            artifact_path=row[7],
            created_by=row[8],
            description=row[9],
            tags=MappingProxyType(dict(sorted(tags[row[1]].items()))),
            aliases=tuple(sorted(aliases[row[1]])),
            project=row[10],
        )
        for row in rows
    ]


def _alias_rows(model_ids: Sequence[str]) -> Select[Any]:
    """(model_id, alias, version) of the given models' aliases, by alias."""
    return (
        select(model_aliases.c.model_id, model_aliases.c.alias, _mv.version)
        .select_from(model_aliases.join(model_versions, _mv.id == model_aliases.c.version_id))
        .where(model_aliases.c.model_id.in_(model_ids))
        .order_by(model_aliases.c.alias)
    )


def _models(conn: Connection, name: str | None) -> list[RegisteredModel]:
    query = select(
        _rm.id,
        _rm.name,
        _rm.created_at,
        _rm.updated_at,
        _project_name(_rm.project_id),
        _rm.description,
    ).where(_rm.deleted_at.is_(None))
    if name is not None:
        query = query.where(_rm.name == name)
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [row[0] for row in rows]
    latest_rows = conn.execute(
        select(_mv.model_id, func.max(_mv.version))
        .where(_mv.model_id.in_(ids), _mv.deleted_at.is_(None))
        .group_by(_mv.model_id)
    )
    latest: dict[str, int] = {row[0]: row[1] for row in latest_rows}
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    tag_rows = select(_tags.model_id, _tags.key, _tags.value).where(
        _tags.model_id.in_(ids), _tags.version == MODEL_LEVEL
    )
    for model_id, key, value in conn.execute(tag_rows.order_by(_tags.key)):
        tags[model_id][key] = value
    aliases: dict[str, dict[str, int]] = defaultdict(dict)
    for model_id, alias, number in conn.execute(_alias_rows(ids)):
        aliases[model_id][alias] = number
    models = [
        RegisteredModel(
            id=row[0],
            name=row[1],
            created_at=row[2],
            updated_at=row[3],
            project=row[4],
            description=row[5],
            tags=MappingProxyType(tags[row[0]]),
            latest_version=latest.get(row[0]),
            aliases=MappingProxyType(aliases[row[0]]),
        )
        for row in rows
    ]
    return sorted(models, key=lambda model: model.name)


def get_model(conn: Connection, name: str) -> RegisteredModel:
    """Live model ``name`` with its tags, aliases and latest version. Raises NotFoundError."""
    found = _models(conn, name)
    if not found:
        find_model(conn, name, lock=False)  # raises with the reason
    return found[0]


def list_models(conn: Connection) -> list[RegisteredModel]:
    """Every live model, by name (code point order)."""
    return _models(conn, None)


def list_versions(conn: Connection, name: str) -> list[ModelVersion]:
    """The live versions of model ``name``, ascending. Raises NotFoundError."""
    return _load_versions(conn, find_model(conn, name, lock=False))


def get_version(conn: Connection, name: str, version: int) -> ModelVersion:
    """Live version ``version`` of model ``name``. Raises NotFoundError."""
    model = find_model(conn, name, lock=False)
    found = _load_versions(conn, model, version)
    if not found:
        live_version(conn, model, version)  # raises, saying whether it was deleted
    return found[0]


def get_version_by_alias(conn: Connection, name: str, alias: str) -> ModelVersion:
    """The version ``alias`` points at (``latest``: the highest live one)."""
    model = find_model(conn, name, lock=False)
    if alias == LATEST:
        number = conn.execute(
            select(func.max(_mv.version)).where(_mv.model_id == model.id, _mv.deleted_at.is_(None))
        ).scalar()
        if number is None:
            raise NotFoundError(
                f"model {name!r} has no live versions",
                field="version",
                uri=f"models:/{name}@{LATEST}",
                hint="register one with loopml.models.log_model(..., registered_name=...)",
            )
    else:
        number = alias_target(conn, model, alias)
        if number is None:
            raise no_alias(name, alias)
    return _load_versions(conn, model, number)[0]


def list_audit(conn: Connection, name: str, version: int | None) -> list[AuditEvent]:
    """The audit log of model ``name`` (deleted or not), oldest first."""
    find_model(conn, name, lock=False, deleted_ok=True)
    audit = model_audit.c
    query = select(
        audit.id,
        audit.model,
        audit.action,
        audit.at,
        audit.version,
        audit.key,
        audit.old_value,
        audit.new_value,
        audit.actor,
    ).where(audit.model == name)
    if version is not None:
        query = query.where(audit.version == version)
    return [AuditEvent(*row) for row in conn.execute(query.order_by(audit.at, audit.id))]


def referenced_blobs(conn: Connection) -> set[str]:
    """The package manifests and files of every live model version."""
    query = union(
        select(_mv.package_blob).where(_mv.deleted_at.is_(None)),
        select(model_version_blobs.c.blob),
    )
    return set(conn.execute(query).scalars())
