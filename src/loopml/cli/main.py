"""The ``loopml`` root command. Command groups are imported only when invoked, so
``loopml --help`` does not pay for SQLAlchemy, pandas or fsspec."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from loopml.errors import LoopmlError, exit_code_for

__all__ = ["COMMANDS", "app", "cli", "main"]

#: name -> (module, attribute, one-line help shown by ``loopml --help`` without importing)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("loopml.cli.init_cmd", "command", "Create a .loopml folder (store + objects) here."),
    "projects": ("loopml.cli.projects", "app", "List projects and their runs."),
    "runs": ("loopml.cli.runs", "app", "List, show, compare, delete and restore runs."),
    "artifacts": ("loopml.cli.artifacts", "app", "List and download run artifacts."),
    "gc": ("loopml.cli.gc", "command", "Delete unreferenced blobs and purged runs."),
    "data": ("loopml.cli.data", "app", "Version data: add, status, diff, checkout, push, pull."),
    "lineage": ("loopml.cli.lineage", "command", "Walk what was read and written, both ways."),
    "models": ("loopml.cli.models", "app", "Registered models: versions, aliases, tags, env."),
    "gate": ("loopml.cli.gate", "command", "Judge a challenger model against the champion (CI)."),
    "pipeline": ("loopml.cli.pipeline", "app", "Run pipelines; list and show pipeline runs."),
    "sweep": ("loopml.cli.sweep", "command", "Search hyperparameters of a pipeline (Optuna)."),
    "cache": ("loopml.cli.cache", "app", "List, inspect and clear cached step outputs."),
}


class LazyGroup(TyperGroup):
    """A command group that imports each command's module only when that command runs."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attr, short_help = spec
        sub: typer.Typer = getattr(importlib.import_module(module_name), attr)
        command = typer.main.get_command(sub)
        command.name = cmd_name
        command.short_help = short_help
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LoopmlError as exc:
            from loopml.cli.output import print_error

            print_error(exc)
            raise typer.Exit(exit_code_for(exc)) from None


def _version(value: bool) -> None:
    if value:
        from loopml._version import __version__

        typer.echo(f"loopml {__version__}")
        raise typer.Exit


app = typer.Typer(
    cls=LazyGroup,
    rich_markup_mode=None,  # plain help: rich help would import every command group
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


@app.callback()
def root(
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            envvar="LOOPML_TRACKING_URI",
            help="Metadata store: sqlite:///path or postgresql+psycopg://... "
            "[default: .loopml/loopml.db]",
        ),
    ] = None,
    artifact_uri: Annotated[
        str | None,
        typer.Option(
            envvar="LOOPML_ARTIFACT_URI",
            help="Blob store: a folder, file:///path or s3://bucket/prefix "
            "[default: .loopml/objects]",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """loopml: data and models versioned, experiments tracked, the loop closed.

    Every command takes --help, and --json for output a script can parse.
    Exit codes: 0 ok, 1 error, 2 usage error.
    """
    # Commands read settings from the environment; the options override it for this process.
    if tracking_uri:
        os.environ["LOOPML_TRACKING_URI"] = tracking_uri
    if artifact_uri:
        os.environ["LOOPML_ARTIFACT_URI"] = artifact_uri


cli = typer.main.get_command(app)


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:3] == ["data", "status"]:
        # `data status` must answer in well under 0.3 s: the plain forms ([PATH] [--verify]
        # [--json]) skip Typer's option handling (it imports pydantic); anything else, and
        # --help, still goes through Typer.
        from loopml.cli.data import status_main

        code = status_main(sys.argv[3:])
        if code is not None:
            raise SystemExit(code)
    if sys.argv[1:3] == ["pipeline", "run"]:
        # the same for `pipeline run`: a fully cached re-run is mostly process start-up
        from loopml.cli.pipeline import run_main

        code = run_main(sys.argv[3:])
        if code is not None:
            raise SystemExit(code)
    cli.main(prog_name="loopml")
