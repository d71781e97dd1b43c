"""``loopml pipeline``: run a pipeline, list pipeline runs, show one as a DAG."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer

from loopml.cli.common import context
from loopml.cli.output import JSON_OPTION, console, emit_json, format_duration, format_ms, table
from loopml.errors import InvalidInputError

__all__ = ["app"]

app = typer.Typer(
    help="Run pipelines; list and show pipeline runs.", no_args_is_help=True, add_completion=False
)

_PIPELINE_RUNS = "tags.loopml.pipeline IS NOT NULL and tags.loopml.step IS NULL"


def _load_pipeline(target: str) -> Any:
    from loopml.pipelines.imports import import_object
    from loopml.pipelines.pipeline import Pipeline

    cwd = os.getcwd()
    if cwd not in sys.path:  # what `python -m` does: the current folder comes first
        sys.path.insert(0, cwd)
    obj = import_object(target)
    if not isinstance(obj, Pipeline):
        raise InvalidInputError(
            f"{target} is a {type(obj).__name__}, not a @pipeline",
            field="target",
            hint="point at a function decorated with @pipeline",
        )
    return obj


def _result_json(result: Any) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "pipeline": result.pipeline,
        "status": result.status,
        "duration_s": result.duration_s,
        "params": {
            k: v if isinstance(v, int | float | str | bool) else str(v)
            for k, v in result.params.items()
        },
        "steps": [
            {
                "name": s.name,
                "step": s.step,
                "status": s.status,
                "cache": s.cache,
                "cache_key": s.cache_key,
                "duration_s": s.duration_s,
                "attempts": s.attempts,
                "run_id": s.run_id,
                "outputs": {name: ref.to_dict() for name, ref in s.outputs.items()},
            }
            for s in result.steps.values()
        ],
    }


@app.command("run")
def run(
    target: Annotated[str, typer.Argument(help="module:pipeline, imported from this folder.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A pipeline param as key=value (repeatable)."),
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", "-e", help="inline, process or ray.")
    ] = "inline",
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step; do not reuse cached outputs.")
    ] = False,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster (else LOOPML_RAY_ADDRESS).")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a pipeline. Re-running after a failure resumes: steps that succeeded are cached."""
    from loopml.pipelines.errors import StepFailedError
    from loopml.pipelines.executors import EXECUTORS
    from loopml.pipelines.params import parse_param_args

    if executor not in EXECUTORS:
        raise InvalidInputError(
            f"unknown executor {executor!r}", field="executor", hint=f"use {', '.join(EXECUTORS)}"
        )
    params = parse_param_args(list(param or []))
    pipe = _load_pipeline(target)
    try:
        result = pipe.run(executor=executor, cache=not no_cache, ray_address=ray_address, **params)
    except StepFailedError as exc:
        sys.stderr.write(exc.traceback_text.rstrip() + "\n")
        raise
    if as_json:
        emit_json(_result_json(result))
        return
    rows = [
        (s.name, s.status, s.cache, f"{s.duration_s:.2f}s", s.attempts, s.run_id or "-")
        for s in result.steps.values()
    ]
    out = console()
    out.print(table(None, ["step", "status", "cache", "duration", "attempts", "run"], rows))
    out.print(
        f"pipeline run {result.run_id} {result.status} in {result.duration_s:.2f}s: "
        f"{len(result.executed)} executed, {len(result.cached)} cached"
    )


def run_main(argv: list[str]) -> int | None:
    """``loopml pipeline run`` without Typer's parsing, for the root's entry point.

    A fully cached re-run should take well under half a second as a whole process, and
    Typer (0.29) imports pydantic to coerce options, ~100 ms of that. This handles the plain
    forms, ``TARGET [--param|-p K=V]... [--executor|-e NAME] [--no-cache] [--ray-address A]
    [--json]``, and returns the exit code; for anything else (``--help``, unknown options) it
    returns None and Typer parses as usual, with its help and usage errors.
    """
    from loopml.errors import LoopmlError, exit_code_for

    values: dict[str, str] = {"--executor": "inline"}
    params: list[str] = []
    flags: set[str] = set()
    targets: list[str] = []
    short = {"-p": "--param", "-e": "--executor"}
    args = iter(argv)
    for arg in args:
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        name = short.get(name, name)
        if name in ("--param", "--executor", "--ray-address"):
            value = inline if eq else next(args, None)
            if value is None:
                return None
            if name == "--param":
                params.append(value)
            else:
                values[name] = value
        elif arg in ("--no-cache", "--json"):
            flags.add(arg)
        elif arg.startswith("-"):
            return None
        else:
            targets.append(arg)
    if len(targets) != 1:
        return None
    try:
        run(
            targets[0],
            params,
            values["--executor"],
            "--no-cache" in flags,
            values.get("--ray-address"),
            "--json" in flags,
        )
    except LoopmlError as exc:
        from loopml.cli.output import print_error

        print_error(exc)
        return exit_code_for(exc)
    return 0


@app.command("list")
def list_runs(
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="Only runs of this pipeline.")
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", min=1, help="At most this many.")] = 50,
    as_json: bool = JSON_OPTION,
) -> None:
    """List pipeline runs, newest first."""
    from loopml.tracking import search_runs

    context()
    filter_ = _PIPELINE_RUNS
    if pipeline:
        filter_ += f" and tags.loopml.pipeline = {json.dumps(pipeline)}"
    runs = search_runs(project, filter_, max_results=max_results, output="list")
    if as_json:
        emit_json(runs)
        return
    rows = [
        (
            r.id,
            r.tags.get("loopml.pipeline", r.name),
            r.project,
            r.status.value,
            format_ms(r.start_time),
            format_duration(r.duration_ms),
            r.tags.get("loopml.executor", "-"),
        )
        for r in runs
    ]
    console().print(
        table(
            None, ["run", "pipeline", "project", "status", "started", "duration", "executor"], rows
        )
    )


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="A pipeline run id.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Draw a pipeline run's DAG: each step's status, duration and cache hit or miss."""
    from loopml.cli.pipeline_view import dag_tree, step_rows
    from loopml.pipelines.history import read_pipeline_run

    context()
    record = read_pipeline_run(run_id)
    rows = step_rows(record.dag, record.steps)
    if as_json:
        emit_json({"run": record.run, "dag": record.dag, "steps": rows})
        return
    out = console()
    out.print(dag_tree(record.run, rows))
    if record.run.error:
        out.print(record.run.error.rstrip(), markup=False, highlight=False)
