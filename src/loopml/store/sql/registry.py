"""The model registry: registered models, their versions, aliases, tags and audit log.

Every mutation is one write transaction that starts by locking the model's row: on SQLite
the transaction began with ``BEGIN IMMEDIATE`` and already holds the only write lock; on
PostgreSQL the ``registered_models`` row is taken ``FOR UPDATE``. So writers of one model
take turns, each sees what the one before committed, and:

- a new version's number is the model's highest + 1, read and written under that lock (two
  processes registering at once get distinct, consecutive numbers);
- an alias move reads the old version and writes the new one under the lock (atomic), and
  its audit event names both;
- every change writes its :class:`~loopml.entities.AuditEvent` in the same transaction.

A new model is inserted with ``ON CONFLICT (name) DO NOTHING`` before the lock is taken, so
of two processes creating it at once one inserts it and both use it. Models and versions are
deleted softly (``deleted_at``): a version number is never handed out twice, and the audit
log of a deleted model stays readable.

The argument checks live in :mod:`.registry_checks`, the reads (and the row lookups these
writes share) in :mod:`.registry_reads`.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.engine import Connection

from loopml.entities import ModelVersion, new_id, now_ms
from loopml.errors import AlreadyExistsError, NotFoundError
from loopml.store.sql.engine import dialect_insert
from loopml.store.sql.projects import ensure_project_id
from loopml.store.sql.registry_checks import NewModelVersion
from loopml.store.sql.registry_reads import (
    MODEL_LEVEL,
    ModelRow,
    alias_target,
    find_model,
    live_version,
    no_alias,
)
from loopml.store.sql.runs import require_run
from loopml.store.sql.schema import (
    model_aliases,
    model_audit,
    model_tags,
    model_version_blobs,
    model_versions,
    registered_models,
)

__all__ = [
    "create_version",
    "delete_alias",
    "delete_model",
    "delete_tag",
    "delete_version",
    "set_alias",
    "set_description",
    "set_tag",
]

_rm, _mv, _tags = registered_models.c, model_versions.c, model_tags.c


def _audit(
    conn: Connection,
    model: ModelRow,
    action: str,
    at: int,
    actor: str | None,
    *,
    version: int | None = None,
    key: str | None = None,
    old: str | None = None,
    new: str | None = None,
) -> None:
    conn.execute(
        model_audit.insert().values(
            id=new_id(),
            model_id=model.id,
            model=model.name,
            project_id=model.project_id,
            action=action,
            at=at,
            version=version,
            key=key,
            old_value=old,
            new_value=new,
            actor=actor,
        )
    )


def _touch(conn: Connection, model: ModelRow, at: int) -> None:
    conn.execute(update(registered_models).where(_rm.id == model.id).values(updated_at=at))


# -- writing ----------------------------------------------------------------------------------
def _claim_model(
    conn: Connection, new: NewModelVersion, project_id: str | None, at: int
) -> ModelRow:
    """Model ``new.name``, created (or brought back, if deleted) as needed, its row locked.

    Raises:
        AlreadyExistsError: the live model belongs to another project.
    """
    insert = dialect_insert(conn, registered_models).values(
        id=new_id(), project_id=project_id, name=new.name, created_at=at, updated_at=at
    )
    claim = insert.on_conflict_do_nothing(index_elements=[_rm.name]).returning(_rm.id)
    created = conn.execute(claim).first() is not None  # (rowcount is -1 under psycopg)
    model = find_model(conn, new.name, lock=True, deleted_ok=True)
    if model.deleted_at is not None:  # registered again: numbers go on, the project may change
        if new.project is not None:
            model = replace(model, project_id=project_id, project=new.project)
        revive = {"deleted_at": None, "project_id": model.project_id}
        conn.execute(update(registered_models).where(_rm.id == model.id).values(**revive))
    elif new.project is not None and model.project not in (None, new.project):
        raise AlreadyExistsError(
            f"model {new.name!r} already exists in project {model.project!r}; model names are"
            " unique across projects",
            field="name",
            uri=f"models:/{new.name}",
            hint=f"choose another name, or register the version in project {model.project!r}",
        )
    if created or model.deleted_at is not None:
        _audit(conn, model, "create_model", at, new.actor, new=new.name)
    return model


def create_version(conn: Connection, new: NewModelVersion) -> ModelVersion:
    """Record version highest + 1 of ``new.name`` (and the model, if new or deleted).

    Raises:
        AlreadyExistsError: the model belongs to another project.
        NotFoundError: the run does not exist.
    """
    at = now_ms()
    if new.run_id is not None:
        require_run(conn, new.run_id)
    project_id = None if new.project is None else ensure_project_id(conn, new.project)
    model = _claim_model(conn, new, project_id, at)
    highest = conn.execute(select(func.max(_mv.version)).where(_mv.model_id == model.id)).scalar()
    number, version_id = (highest or 0) + 1, new_id()
    version_project = project_id if new.project is not None else model.project_id
    conn.execute(
        model_versions.insert().values(
            id=version_id,
            model_id=model.id,
            project_id=version_project,
            version=number,
            package_blob=new.package_blob,
            flavor=new.flavor,
            source=new.source,
            run_id=new.run_id,
            artifact_path=new.artifact_path,
            created_by=new.actor,
            description=new.description,
            created_at=at,
        )
    )
    if new.file_blobs:
        blobs = [{"version_id": version_id, "blob": blob} for blob in new.file_blobs]
        conn.execute(model_version_blobs.insert(), blobs)
    _audit(conn, model, "create_version", at, new.actor, version=number, new=new.source)
    if new.tags:
        tags = [
            {"model_id": model.id, "version": number, "key": k, "value": v}
            for k, v in new.tags.items()
        ]
        conn.execute(model_tags.insert(), tags)
    for key, value in new.tags.items():
        _audit(conn, model, "set_tag", at, new.actor, version=number, key=key, new=value)
    if new.description:
        _audit(conn, model, "set_description", at, new.actor, version=number, new=new.description)
    _touch(conn, model, at)
    project = new.project if new.project is not None else model.project
    return ModelVersion(
        id=version_id,
        name=new.name,
        version=number,
        created_at=at,
        package_blob=new.package_blob,
        flavor=new.flavor,
        source=new.source,
        run_id=new.run_id,
        artifact_path=new.artifact_path,
        created_by=new.actor,
        description=new.description,
        tags=new.tags,
        project=project,
    )


def set_alias(conn: Connection, name: str, alias: str, version: int, actor: str | None) -> None:
    """Point ``alias`` at live ``version``, moving it atomically; audited old -> new."""
    model = find_model(conn, name, lock=True)
    version_id, _ = live_version(conn, model, version)
    old = alias_target(conn, model, alias)
    if old == version:
        return
    at = now_ms()
    upsert = dialect_insert(conn, model_aliases).values(
        model_id=model.id, alias=alias, version_id=version_id, updated_at=at
    )
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[model_aliases.c.model_id, model_aliases.c.alias],
            set_={"version_id": version_id, "updated_at": at},
        )
    )
    old_text = None if old is None else str(old)
    _audit(
        conn,
        model,
        "set_alias",
        at,
        actor,
        version=version,
        key=alias,
        old=old_text,
        new=str(version),
    )
    _touch(conn, model, at)


def delete_alias(conn: Connection, name: str, alias: str, actor: str | None) -> None:
    """Remove ``alias``; audited with the version it pointed at. Raises NotFoundError."""
    model = find_model(conn, name, lock=True)
    old = alias_target(conn, model, alias)
    if old is None:
        raise no_alias(name, alias)
    at = now_ms()
    conn.execute(
        delete(model_aliases).where(
            model_aliases.c.model_id == model.id, model_aliases.c.alias == alias
        )
    )
    _audit(conn, model, "delete_alias", at, actor, version=old, key=alias, old=str(old))
    _touch(conn, model, at)


def _tag_filter(model: ModelRow, version: int | None, key: str) -> ColumnElement[bool]:
    level = MODEL_LEVEL if version is None else version
    return (_tags.model_id == model.id) & (_tags.version == level) & (_tags.key == key)


def set_tag(
    conn: Connection, name: str, key: str, value: str, version: int | None, actor: str | None
) -> None:
    """Set a tag of the model (or of live ``version``); audited old -> new."""
    model = find_model(conn, name, lock=True)
    if version is not None:
        live_version(conn, model, version)
    old = conn.execute(select(_tags.value).where(_tag_filter(model, version, key))).scalar()
    if old == value:
        return
    at = now_ms()
    level = MODEL_LEVEL if version is None else version
    upsert = dialect_insert(conn, model_tags).values(
        model_id=model.id, version=level, key=key, value=value
    )
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[_tags.model_id, _tags.version, _tags.key], set_={"value": value}
        )
    )
    _audit(conn, model, "set_tag", at, actor, version=version, key=key, old=old, new=value)
    _touch(conn, model, at)


def delete_tag(
    conn: Connection, name: str, key: str, version: int | None, actor: str | None
) -> None:
    """Remove a tag of the model (or of live ``version``); audited. Raises NotFoundError."""
    model = find_model(conn, name, lock=True)
    if version is not None:
        live_version(conn, model, version)
    old = conn.execute(select(_tags.value).where(_tag_filter(model, version, key))).scalar()
    if old is None:
        where = f"model {name!r}" if version is None else f"version {version} of model {name!r}"
        raise NotFoundError(f"{where} has no tag {key!r}", field="key", uri=f"models:/{name}")
    at = now_ms()
    conn.execute(delete(model_tags).where(_tag_filter(model, version, key)))
    _audit(conn, model, "delete_tag", at, actor, version=version, key=key, old=old)
    _touch(conn, model, at)


def set_description(
    conn: Connection, name: str, text: str | None, version: int | None, actor: str | None
) -> None:
    """Set (None or "": clear) the description of the model or of live ``version``."""
    model = find_model(conn, name, lock=True)
    text = text or None
    if version is None:
        old = conn.execute(select(_rm.description).where(_rm.id == model.id)).scalar()
        change = update(registered_models).where(_rm.id == model.id)
    else:
        version_id, old = live_version(conn, model, version)
        change = update(model_versions).where(_mv.id == version_id)
    if old == text:
        return
    at = now_ms()
    conn.execute(change.values(description=text))
    _audit(conn, model, "set_description", at, actor, version=version, old=old, new=text)
    _touch(conn, model, at)


def delete_version(conn: Connection, name: str, version: int, actor: str | None) -> None:
    """Delete live ``version`` softly; its aliases (each audited), tags and blobs go."""
    model = find_model(conn, name, lock=True)
    version_id, _ = live_version(conn, model, version)
    at = now_ms()
    aliases = select(model_aliases.c.alias).where(model_aliases.c.version_id == version_id)
    for alias in sorted(conn.execute(aliases).scalars()):
        _audit(conn, model, "delete_alias", at, actor, version=version, key=alias, old=str(version))
    conn.execute(delete(model_aliases).where(model_aliases.c.version_id == version_id))
    conn.execute(delete(model_tags).where(_tags.model_id == model.id, _tags.version == version))
    conn.execute(delete(model_version_blobs).where(model_version_blobs.c.version_id == version_id))
    conn.execute(update(model_versions).where(_mv.id == version_id).values(deleted_at=at))
    _audit(conn, model, "delete_version", at, actor, version=version)
    _touch(conn, model, at)


def delete_model(conn: Connection, name: str, actor: str | None) -> None:
    """Delete model ``name`` softly with every version, alias and tag; audited."""
    model = find_model(conn, name, lock=True)
    at = now_ms()
    ids = select(_mv.id).where(_mv.model_id == model.id)
    conn.execute(delete(model_aliases).where(model_aliases.c.model_id == model.id))
    conn.execute(delete(model_tags).where(_tags.model_id == model.id))
    conn.execute(delete(model_version_blobs).where(model_version_blobs.c.version_id.in_(ids)))
    conn.execute(
        update(model_versions)
        .where(_mv.model_id == model.id, _mv.deleted_at.is_(None))
        .values(deleted_at=at)
    )
    conn.execute(
        update(registered_models)
        .where(_rm.id == model.id)
        .values(deleted_at=at, updated_at=at, description=None)
    )
    _audit(conn, model, "delete_model", at, actor, old=name)
