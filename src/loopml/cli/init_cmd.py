"""``loopml init``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopml.cli.output import JSON_OPTION, console, emit_json
from loopml.config import find_home, init_home, load_settings
from loopml.store import open_store

__all__ = ["command"]

command = typer.Typer(add_completion=False)


@command.command()
def init(
    path: Annotated[
        Path, typer.Argument(help="Folder to create .loopml in.", file_okay=False)
    ] = Path("."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create .loopml/ here: the SQLite store (loopml.db), objects/ and config.toml.

    Running it again is harmless. Later commands find .loopml by walking up, as git does.
    """
    existed = find_home(path) == path.resolve() / ".loopml"
    home = init_home(path)
    settings = load_settings(cwd=path)
    with open_store(settings.tracking_uri):
        pass  # creates and migrates the schema
    if as_json:
        emit_json(
            {
                "home": str(home),
                "tracking_uri": settings.tracking_uri,
                "artifact_uri": settings.artifact_uri,
                "created": not existed,
            }
        )
        return
    verb = "Already initialized" if existed else "Initialized"
    console().print(f"{verb} loopml in [bold]{home}[/]")
    console().print(f"  tracking: {settings.tracking_uri}\n  artifacts: {settings.artifact_uri}")
