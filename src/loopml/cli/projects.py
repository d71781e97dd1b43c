"""``loopml projects``."""

from __future__ import annotations

import typer

from loopml.cli.common import context
from loopml.cli.output import JSON_OPTION, console, emit_json, format_ms, table

__all__ = ["app"]

app = typer.Typer(help="List projects and their runs.", no_args_is_help=True, add_completion=False)


@app.callback()
def projects() -> None:
    """List projects and their runs."""


@app.command("list")
def list_projects(as_json: bool = JSON_OPTION) -> None:
    """List projects with their run counts and last activity."""
    projects = context().store.list_projects()
    if as_json:
        emit_json(projects)
        return
    rows = [
        (p.name, p.run_count, format_ms(p.last_run_at), format_ms(p.created_at)) for p in projects
    ]
    console().print(table(None, ["project", "runs", "last run", "created"], rows))
    if not projects:
        console().print("No projects yet: start a run with loopml.start_run(project=...).")
