"""Answer ``models:/`` lookups on a SQLite store with the standard ``sqlite3`` module.

Loading a registered model is often the first thing a process does (a server starting, a
batch job), and importing SQLAlchemy alone costs more than the whole lookup. This read-only
path answers the one question loading needs, a version by number, alias or ``latest``, and
returns ``None`` whenever it cannot answer with certainty (not SQLite, no file, a schema
that is not the current one, nothing found): the caller then asks the full store, which also
produces the proper errors.
"""

from __future__ import annotations

import sqlite3
from types import MappingProxyType

from loopml.entities.models import ModelVersion
from loopml.store.sql.revisions import SCHEMA_HEAD
from loopml.store.sql.sqlite_direct import sqlite_file

__all__ = ["read_model_version", "sqlite_file"]


_SELECT = """
SELECT v.id, m.name, v.version, v.created_at, v.package_blob, v.flavor, v.source, v.run_id,
       v.artifact_path, v.created_by, v.description, p.name, m.id
FROM registered_models m
JOIN model_versions v ON v.model_id = m.id
LEFT JOIN projects p ON p.id = v.project_id
WHERE m.name = ? AND m.deleted_at IS NULL AND v.deleted_at IS NULL
"""


# Constant text only; every value is a bound parameter.
_BY_NUMBER = _SELECT + " AND v.version = ?"
_BY_ALIAS = (
    _SELECT + " AND v.id = (SELECT version_id FROM model_aliases a"  # noqa: S608
    " WHERE a.model_id = m.id AND a.alias = ?)"
)
_LATEST = _SELECT + " ORDER BY v.version DESC LIMIT 1"


def read_model_version(
    uri: str, name: str, *, version: int | None = None, alias: str | None = None
) -> ModelVersion | None:
    """The live version ``version`` (or the one ``alias`` points at; ``latest`` or neither
    = the highest) of model ``name``, or None when this path cannot tell."""
    path = sqlite_file(uri)
    if path is None:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return _read(conn, name, version, alias)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _read(
    conn: sqlite3.Connection, name: str, version: int | None, alias: str | None
) -> ModelVersion | None:
    head = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    if head != [(SCHEMA_HEAD,)]:
        return None
    if version is not None:
        row = conn.execute(_BY_NUMBER, (name, version)).fetchone()
    elif alias is not None and alias != "latest":
        row = conn.execute(_BY_ALIAS, (name, alias)).fetchone()
    else:
        row = conn.execute(_LATEST, (name,)).fetchone()
    if row is None:
        return None
    tags = conn.execute(
        "SELECT key, value FROM model_tags WHERE model_id = ? AND version = ? ORDER BY key",
        (row[12], row[2]),
    ).fetchall()
    aliases = conn.execute(
        "SELECT alias FROM model_aliases WHERE version_id = ? ORDER BY alias", (row[0],)
    ).fetchall()
    return ModelVersion(
        id=row[0],
        name=row[1],
        version=row[2],
        created_at=row[3],
        package_blob=row[4],
        flavor=row[5],
        source=row[6],
        run_id=row[7],
        artifact_path=row[8],
        created_by=row[9],
        description=row[10],
        tags=MappingProxyType(dict(tags)),
        aliases=tuple(a for (a,) in aliases),
        project=row[11],
    )
