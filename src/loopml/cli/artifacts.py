"""``loopml artifacts``: list and get run files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli.common import context
from loopml.cli.output import JSON_OPTION, console, emit_json, format_ms, table

__all__ = ["app"]

app = typer.Typer(
    help="List and download run artifacts.", no_args_is_help=True, add_completion=False
)


@app.command("list")
def list_artifacts(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    path: Annotated[str, typer.Argument(help="Folder inside the run.")] = "",
    as_json: bool = JSON_OPTION,
) -> None:
    """List a run's files (path, size, blob hash)."""
    from loopml.tracking.validation import check_artifact_path

    ctx = context()
    ctx.store.get_run(run_id)
    entries = ctx.store.list_artifacts(run_id, check_artifact_path(path) if path else "")
    if as_json:
        emit_json(entries)
        return
    console().print(
        table(
            None,
            ["path", "size", "logged", "blob"],
            [(e.path, e.size, format_ms(e.created_at), f"blake3:{e.blob[:16]}…") for e in entries],
        )
    )
    if not entries:
        console().print("No artifacts" + (f" under {path!r}." if path else "."))


@app.command("get")
def get(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    path: Annotated[
        str, typer.Argument(help="File or folder inside the run (all if omitted).")
    ] = "",
    dest: Annotated[Path, typer.Option("--dest", "-d", help="Where to put the files.")] = Path("."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Download run files, each verified against its BLAKE3 hash."""
    from loopml.tracking.artifacts import download_artifacts

    ctx = context()
    ctx.store.get_run(run_id)
    local = download_artifacts(ctx, run_id, path, dest)
    if as_json:
        emit_json({"path": str(local)})
    else:
        console().print(f"Downloaded to {local}")
