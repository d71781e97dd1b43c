"""``loopml models env`` and ``loopml models verify-env``: a model's environment.

The ``loopml models`` group (``loopml.cli.models``) calls :func:`register` to add them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli.output import JSON_OPTION, console, emit_json, table

if TYPE_CHECKING:
    from loopml.models.environment import Environment, Mismatch

__all__ = ["env", "register", "verify_env"]

URI_HELP = "models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH or a package folder."


def register(app: typer.Typer) -> None:
    """Add ``env`` and ``verify-env`` to the ``loopml models`` Typer app."""
    app.command("env")(env)
    app.command("verify-env")(verify_env)


def env(
    uri: Annotated[str, typer.Argument(help=URI_HELP)],
    format: Annotated[  # noqa: A002 - the option is --format
        str,
        typer.Option(
            "--format", "-f", help="requirements (requirements.txt), conda or dockerfile."
        ),
    ] = "requirements",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write: a file (a folder gets the usual file name) or '-' for stdout "
            "(the default). For dockerfile, a folder: the build context (Dockerfile, "
            "requirements.txt, the model package in model/).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="conda environment name (default: the registered model's name)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the model/ folder of an existing context.")
    ] = False,
) -> None:
    """Export requirements.txt, conda YAML or a Dockerfile for a model.

    With --format dockerfile and --output DIR, write a whole build context.
    """
    from loopml.models import env_export

    kind = env_export.check_format(format)
    if kind == "dockerfile" and output not in (None, "-"):
        written = env_export.write_env(uri, kind, Path(output), name=name, force=force)
        _say_written(written, f"Build context for {uri} in {output}:")
        typer.echo(f"Build it with: docker build -t IMAGE {output}", err=True)
        return
    text = env_export.render(_recorded(uri), kind, name=name or env_export.model_name(uri))
    if output in (None, "-"):
        sys.stdout.write(text)
        return
    target = Path(output)
    if target.is_dir():
        target = target / env_export.FILE_NAMES[kind]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    _say_written([target], "Wrote:")


def _recorded(uri: str) -> Environment:
    """The environment recorded in the model at ``uri``."""
    from loopml.errors import NotFoundError
    from loopml.models import manifest_of

    recorded = manifest_of(uri).environment
    if recorded is None:
        raise NotFoundError(
            "the model records no environment", uri=uri, hint="save it again with loopml"
        )
    return recorded


def _say_written(paths: list[Path], message: str) -> None:
    # On stderr: stdout stays clean for `-o -` style pipelines.
    typer.echo(message, err=True)
    for path in paths:
        typer.echo(f"  {path}", err=True)


def verify_env(
    uri: Annotated[str, typer.Argument(help=URI_HELP)],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 1 on a missing package, a major version change or another Python "
            "major.minor (without it: warn and exit 0).",
        ),
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare the model's environment with this interpreter.

    Minor and patch differences are listed but never fail.
    """
    import platform as platform_module

    from loopml.errors import EnvironmentMismatchError
    from loopml.models.environment import check_environment

    recorded = _recorded(uri)
    mismatches = check_environment(recorded)
    serious = [m for m in mismatches if m.serious]
    if as_json:
        emit_json(
            {
                "uri": uri,
                "ok": not serious,
                "python": {"model": recorded.python, "here": platform_module.python_version()},
                "platform": {"model": recorded.platform, "here": _platform()},
                "mismatches": [_as_dict(m) for m in mismatches],
            }
        )
    else:
        _print_report(uri, recorded, mismatches)
    if not serious:
        return
    summary = ", ".join(m.describe() for m in serious)
    if strict:
        raise EnvironmentMismatchError(
            f"{len(serious)} serious environment mismatch(es): {summary}",
            uri=uri,
            hint=f"loopml models env {uri} --format requirements -o requirements.txt; "
            "pip install -r requirements.txt",
        )
    typer.echo(
        f"warning: {len(serious)} serious environment mismatch(es): {summary} "
        "(--strict makes this fail)",
        err=True,
    )


def _platform() -> str:
    import sysconfig

    return sysconfig.get_platform()


def _as_dict(mismatch: Mismatch) -> dict[str, object]:
    return {
        "package": mismatch.package,
        "expected": mismatch.expected,
        "found": mismatch.found,
        "severity": mismatch.severity,
        "serious": mismatch.serious,
    }


def _print_report(uri: str, recorded: Environment, mismatches: list[Mismatch]) -> None:
    import platform as platform_module

    out = console()
    here = f"Python {platform_module.python_version()} on {_platform()}"
    out.print(f"{uri}: saved with Python {recorded.python} on {recorded.platform}; here {here}.")
    if not mismatches:
        out.print(f"All {len(recorded.requirements)} requirements match.")
        return
    rows = [
        (m.package, m.expected, m.found or "missing", m.severity, "yes" if m.serious else "")
        for m in mismatches
    ]
    out.print(table("mismatches", ["package", "model", "here", "severity", "serious"], rows))
