"""Projects: the namespace every run (and later dataset and model) belongs to."""

from __future__ import annotations

from sqlalchemy import Row, Select, and_, bindparam, func, select
from sqlalchemy.engine import Connection

from loopml.entities import Lifecycle, Project, new_id, now_ms
from loopml.errors import NotFoundError
from loopml.store.sql.engine import dialect_insert
from loopml.store.sql.schema import projects, runs

__all__ = ["ensure_project_id", "get_or_create_project", "get_project", "list_projects"]

_PROJECT_ID = select(projects.c.id).where(projects.c.name == bindparam("name"))


def _with_counts() -> Select[str, str, int, str | None, int, int | None]:
    """Projects with the count and latest start time of their active runs (one query)."""
    active = and_(runs.c.project_id == projects.c.id, runs.c.lifecycle == Lifecycle.ACTIVE.value)
    return (
        select(
            projects.c.id,
            projects.c.name,
            projects.c.created_at,
            projects.c.description,
            func.count(runs.c.id),
            func.max(runs.c.start_time),
        )
        .select_from(projects.outerjoin(runs, active))
        .group_by(projects.c.id)
        .order_by(projects.c.name)
    )


def _to_project(row: Row[str, str, int, str | None, int, int | None]) -> Project:
    return Project(
        id=row[0],
        name=row[1],
        created_at=row[2],
        description=row[3],
        run_count=int(row[4]),
        last_run_at=row[5],
    )


def ensure_project_id(conn: Connection, name: str) -> str:
    """The id of project ``name``, creating the project if needed (safe under concurrency).

    A project's id never changes and projects are never deleted, so callers may keep it.
    """
    found = conn.execute(_PROJECT_ID, {"name": name}).scalar()
    if found is not None:
        return str(found)
    conn.execute(
        dialect_insert(conn, projects)
        .values(id=new_id(), name=name, created_at=now_ms())
        .on_conflict_do_nothing(index_elements=[projects.c.name])
    )
    return str(conn.execute(_PROJECT_ID, {"name": name}).scalar_one())


def get_project(conn: Connection, name: str) -> Project:
    """Project ``name`` with its active-run count. Raises NotFoundError."""
    row = conn.execute(_with_counts().where(projects.c.name == name)).first()
    if row is None:
        raise NotFoundError(
            f"project {name!r} does not exist",
            field="project",
            hint="list projects with `loopml projects list`",
        )
    return _to_project(row)


def get_or_create_project(conn: Connection, name: str) -> Project:
    """Project ``name``, created if missing."""
    ensure_project_id(conn, name)
    return get_project(conn, name)


def list_projects(conn: Connection) -> list[Project]:
    """Every project by name, with run counts, in one query."""
    return [_to_project(row) for row in conn.execute(_with_counts())]
