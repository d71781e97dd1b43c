"""Projects: the namespace every run (and later dataset and model) belongs to."""

from __future__ import annotations

from typing import Any

from loopml.entities import Lifecycle, Project, new_id, now_ms
from loopml.errors import NotFoundError
from loopml.store.sql.driver import DriverConnection, driver_sql

__all__ = ["ensure_project_id", "get_or_create_project", "get_project", "list_projects"]

_PROJECT_ID = "SELECT id FROM projects WHERE name = ?"
_INSERT = (
    "INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING"
)
#: Projects with the count and latest start time of their active runs (one query).
_WITH_COUNTS = (
    "SELECT p.id, p.name, p.created_at, p.description, count(r.id), max(r.start_time)"
    " FROM projects p LEFT OUTER JOIN runs r ON r.project_id = p.id AND r.lifecycle = ?"
)
_ACTIVE = Lifecycle.ACTIVE.value
_GROUP = " GROUP BY p.id, p.name, p.created_at, p.description ORDER BY p.name"
_ONE = _WITH_COUNTS + " WHERE p.name = ?" + _GROUP


def _to_project(row: tuple[Any, ...]) -> Project:
    return Project(
        id=row[0],
        name=row[1],
        created_at=row[2],
        description=row[3],
        run_count=int(row[4]),
        last_run_at=row[5],
    )


def ensure_project_id(conn: DriverConnection, name: str) -> str:
    """The id of project ``name``, creating the project if needed (safe under concurrency).

    A project's id never changes and projects are never deleted, so callers may keep it.
    """
    sql = driver_sql(conn, _PROJECT_ID)
    found = conn.exec_driver_sql(sql, (name,)).scalar()
    if found is not None:
        return str(found)
    conn.exec_driver_sql(driver_sql(conn, _INSERT), (new_id(), name, now_ms()))
    return str(conn.exec_driver_sql(sql, (name,)).scalar())


def get_project(conn: DriverConnection, name: str) -> Project:
    """Project ``name`` with its active-run count. Raises NotFoundError."""
    row = conn.exec_driver_sql(driver_sql(conn, _ONE), (_ACTIVE, name)).first()
    if row is None:
        raise NotFoundError(
            f"project {name!r} does not exist",
            field="project",
            hint="list projects with `loopml projects list`",
        )
    return _to_project(row)


def get_or_create_project(conn: DriverConnection, name: str) -> Project:
    """Project ``name``, created if missing."""
    ensure_project_id(conn, name)
    return get_project(conn, name)


def list_projects(conn: DriverConnection) -> list[Project]:
    """Every project by name, with run counts, in one query."""
    rows = conn.exec_driver_sql(driver_sql(conn, _WITH_COUNTS + _GROUP), (_ACTIVE,)).all()
    return [_to_project(row) for row in rows]
