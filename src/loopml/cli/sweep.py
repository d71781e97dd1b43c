"""``loopml sweep module:obj --space space.yaml``: search hyperparameters with Optuna."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli.output import JSON_OPTION, console, emit_json, format_value, table
from loopml.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.table import Table

    from loopml.pipelines.sweep import SweepResult, TrialRecord

__all__ = ["command"]

command = typer.Typer(add_completion=False)

#: how many of the best trials the final table shows
TOP_TRIALS = 5


def _load_target(target: str) -> Any:
    from loopml.pipelines.imports import import_object

    cwd = os.getcwd()
    if cwd not in sys.path:  # what `python -m` does: the current folder comes first
        sys.path.insert(0, cwd)
    obj = import_object(target)
    if not callable(obj):
        raise InvalidInputError(
            f"{target} is a {type(obj).__name__}, not a @pipeline or a function",
            field="target",
            hint="point at a @pipeline, or a function returning a number or a dict of numbers",
        )
    return obj


@command.command()
def sweep(
    target: Annotated[
        str,
        typer.Argument(help="module:object, a @pipeline or a function, imported from this folder."),
    ],
    space: Annotated[
        str,
        typer.Option(
            "--space",
            "-s",
            help="YAML file: name: {uniform|loguniform|int|choice: [...]} per parameter.",
        ),
    ],
    trials: Annotated[int, typer.Option("--trials", "-n", min=1, help="How many trials.")] = 20,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            "-m",
            help="step.key for a pipeline (a key of the dict that step returns); the dict key "
            "for a function returning a dict.",
        ),
    ] = None,
    direction: Annotated[
        str, typer.Option("--direction", "-d", help="maximize or minimize.")
    ] = "maximize",
    executor: Annotated[
        str, typer.Option("--executor", "-e", help="inline, process or ray.")
    ] = "inline",
    n_jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Trials at a time on process/ray (default: the CPUs)."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the sampler.")] = None,
    sampler: Annotated[str, typer.Option("--sampler", help="tpe, random, cmaes or qmc.")] = "tpe",
    pruner: Annotated[
        str | None, typer.Option("--pruner", help="median, hyperband or successive_halving.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project of the runs.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Name of the sweep run (default: sweep-<target>).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster (else LOOPML_RAY_ADDRESS).")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a hyperparameter sweep; each trial is a child run of the sweep run.

    Prints the best trials; `loopml runs compare` shows any of them side by side.
    """
    from loopml.pipelines.space import load_space
    from loopml.pipelines.sweep import sweep as run_sweep

    if direction not in ("maximize", "minimize"):
        raise InvalidInputError(
            f"direction must be maximize or minimize, got {direction!r}", field="direction"
        )
    parsed = load_space(space)
    obj = _load_target(target)
    options: dict[str, Any] = {
        "n_trials": trials,
        "metric": metric,
        "direction": direction,
        "executor": executor,
        "sampler": sampler,
        "pruner": pruner,
        "seed": seed,
        "project": project,
        "n_jobs": n_jobs,
        "name": name,
        "ray_address": ray_address,
    }
    if as_json:
        result = run_sweep(obj, parsed, **options)
        emit_json(_result_json(result))
        return
    result = _with_progress(obj, parsed, trials, options)
    out = console()
    out.print(_best_table(result))
    out.print(
        f"sweep run {result.run_id}: best {result.metric} = {format_value(result.best_value)} "
        f"with {_params_text(result.best_params)} (trial run {result.best_run_id})"
    )


def _with_progress(obj: Any, space: Any, trials: int, options: dict[str, Any]) -> SweepResult:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from loopml.pipelines.sweep import sweep as run_sweep

    best: list[float] = []
    maximize = options["direction"] == "maximize"
    with Progress(
        TextColumn("[bold]sweep[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=trials)

        def on_trial(record: TrialRecord) -> None:
            if record.value is not None and record.state == "COMPLETE":
                best.append(record.value)
            top = (max(best) if maximize else min(best)) if best else None
            text = f"best {format_value(top)}" if top is not None else ""
            bar.update(task, advance=1, description=text)

        return run_sweep(obj, space, on_trial=on_trial, **options)


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


def _best_table(result: SweepResult) -> Table:
    frame = result.trials
    done = frame[frame["state"] == "COMPLETE"].sort_values(
        "value", ascending=result.direction == "minimize", kind="stable"
    )
    names = [c for c in frame.columns if c.startswith("params.")]
    rows = [
        [
            int(row["number"]),
            row["value"],
            *(row[n] for n in names),
            f"{row['duration_s']:.2f}s",
            row["run_id"],
        ]
        for _, row in done.head(TOP_TRIALS).iterrows()
    ]
    counts = frame["state"].value_counts().to_dict()
    summary = ", ".join(f"{n} {str(state).lower()}" for state, n in sorted(counts.items(), key=str))
    return table(
        f"best trials ({summary}), {result.direction} {result.metric}",
        ["trial", result.metric, *(n.removeprefix("params.") for n in names), "duration", "run"],
        rows,
    )


def _result_json(result: SweepResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "metric": result.metric,
        "direction": result.direction,
        "best_value": result.best_value,
        "best_params": result.best_params,
        "best_run_id": result.best_run_id,
        "trials": [
            {
                "number": r.number,
                "state": r.state,
                "value": r.value,
                "params": r.params,
                "run_id": r.run_id,
                "duration_s": r.duration_s,
            }
            for r in result.records
        ],
    }
