"""``loopml runs``: list, show, compare, metrics, delete, restore."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from loopml.cli.common import context
from loopml.cli.output import (
    JSON_OPTION,
    console,
    emit_json,
    format_duration,
    format_ms,
    format_value,
    sparkline,
    table,
)
from loopml.entities import Run

__all__ = ["app"]

app = typer.Typer(
    help="List, show, compare, delete and restore runs.", no_args_is_help=True, add_completion=False
)

FILTER_HELP = (
    "Filter, e.g. \"metrics.acc > 0.9 and params.depth = '6'\". Entities: metrics.*, params.*, "
    "tags.*, attributes.* (status, name, start_time, ...); operators = != < <= > >= LIKE ILIKE "
    "IN NOT IN IS [NOT] NULL; and/or/parentheses."
)


def _status(run: Run) -> Text:
    colors = {"RUNNING": "cyan", "FINISHED": "green", "FAILED": "red", "KILLED": "yellow"}
    return Text(run.status.value, style=colors.get(run.status.value, ""))


@app.command("list")
def list_runs(
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    filter_: Annotated[str | None, typer.Option("--filter", "-f", help=FILTER_HELP)] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc DESC' (repeatable)."),
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", min=1, help="At most this many.")] = 50,
    deleted: Annotated[bool, typer.Option("--deleted", help="Show deleted runs instead.")] = False,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--column", "-c", help="Extra column such as metrics.acc or params.lr (repeatable)."
        ),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List runs, newest first, with a filter and ordering."""
    from loopml.tracking import search_runs

    runs = search_runs(
        project,
        filter_,
        order_by,
        max_results,
        lifecycle="deleted" if deleted else "active",
        output="list",
    )
    if as_json:
        emit_json(runs)
        return
    extra = list(columns or [])
    if not extra:  # show the metrics the listed runs have, up to four
        keys: dict[str, None] = {}
        for run in runs:
            keys.update(dict.fromkeys(run.metrics))
        extra = [f"metrics.{k}" for k in list(keys)[:4]]
    headers = ["run id", "name", "project", "status", "started", "duration", *extra]
    rows = [
        [
            run.id,
            run.name,
            run.project,
            _status(run),
            format_ms(run.start_time),
            format_duration(run.duration_ms),
            *(_column(run, c) for c in extra),
        ]
        for run in runs
    ]
    console().print(table(None, headers, rows))
    if not runs:
        console().print("No runs match.")


def _column(run: Run, column: str) -> object:
    entity, _, key = column.partition(".")
    source = {"metrics": run.metrics, "params": run.params, "tags": run.tags}.get(entity)
    return None if source is None else source.get(key)


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id.")], as_json: bool = JSON_OPTION
) -> None:
    """Show one run: attributes, source, params, latest metrics, tags, artifacts."""
    ctx = context()
    run = ctx.store.get_run(run_id)
    artifacts = ctx.store.list_artifacts(run_id)
    if as_json:
        emit_json({"run": run, "artifacts": artifacts})
        return
    src = run.source
    info = [
        ("id", run.id),
        ("name", run.name),
        ("project", run.project),
        ("status", _status(run)),
        ("started", format_ms(run.start_time)),
        ("ended", format_ms(run.end_time)),
        ("duration", format_duration(run.duration_ms)),
        ("parent", run.parent_id),
        ("git", f"{src.git_commit or '-'}{' (dirty)' if src.git_dirty else ''}"),
        ("entry point", src.entry_point),
        ("user@host", f"{src.user}@{src.host}"),
        ("python", src.python_version),
        ("lifecycle", run.lifecycle.value),
    ]
    console().print(table(f"Run {run.name}", ["field", "value"], info))
    for title, data in (
        ("Params", run.params),
        ("Metrics (latest)", run.metrics),
        ("Tags", run.tags),
    ):
        if data:
            console().print(table(title, ["key", "value"], sorted(data.items())))
    if artifacts:
        console().print(
            table(
                "Artifacts",
                ["path", "size", "blob"],
                [(a.path, a.size, a.blob[:16]) for a in artifacts],
            )
        )
    if run.error:
        console().print(Text("Error:\n" + run.error, style="red"))


@app.command("compare")
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    only_diff: Annotated[bool, typer.Option("--diff", help="Only rows that differ.")] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare runs side by side: params and latest metrics; differences are highlighted."""
    runs = context().store.get_runs(run_ids)
    rows: list[list[object]] = []
    for entity in ("params", "metrics"):
        keys = sorted({k for run in runs for k in getattr(run, entity)})
        for key in keys:
            values = [getattr(run, entity).get(key) for run in runs]
            differs = len({format_value(v) for v in values}) > 1
            if only_diff and not differs:
                continue
            style = "bold yellow" if differs else ""
            rows.append(
                [
                    Text(f"{entity}.{key}", style=style),
                    *(Text(format_value(v), style=style) for v in values),
                ]
            )
    if as_json:
        emit_json(
            {
                "runs": [r.id for r in runs],
                "params": {
                    k: [r.params.get(k) for r in runs]
                    for k in sorted({k for r in runs for k in r.params})
                },
                "metrics": {
                    k: [r.metrics.get(k) for r in runs]
                    for k in sorted({k for r in runs for k in r.metrics})
                },
            }
        )
        return
    console().print(table(None, ["", *(f"{r.name}\n{r.id[:12]}…" for r in runs)], rows))


@app.command("metrics")
def metrics(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    key: Annotated[str, typer.Argument(help="Metric name.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a metric's history, with a chart of its values over steps."""
    history = context().store.get_metric_history(run_id, key)
    if as_json:
        emit_json(history)
        return
    if not history:
        console().print(f"Run {run_id} has no values for metric {key!r}.")
        raise typer.Exit(1)
    values = [m.value for m in history]
    console().print(
        f"[bold]{key}[/]  steps {history[0].step}..{history[-1].step}  "
        f"min {format_value(min(values))}  max {format_value(max(values))}  "
        f"last {format_value(values[-1])}"
    )
    console().print(sparkline(values))
    shown = history if len(history) <= 20 else history[:10] + history[-10:]
    console().print(
        table(
            None,
            ["step", "value", "time"],
            [(m.step, m.value, format_ms(m.timestamp)) for m in shown],
        )
    )
    if len(history) > 20:
        console().print(f"({len(history) - 20} more points; --json prints all)")


@app.command("delete")
def delete(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids.")], as_json: bool = JSON_OPTION
) -> None:
    """Soft-delete runs: they leave listings; `runs restore` brings them back until gc."""
    store = context().store
    store.get_runs(run_ids)  # unknown ids fail before anything changes
    store.delete_runs(run_ids)
    if as_json:
        emit_json({"deleted": run_ids})
    else:
        console().print(
            f"Deleted {len(run_ids)} run(s). Undo with: loopml runs restore " + " ".join(run_ids)
        )


@app.command("restore")
def restore(
    run_ids: Annotated[list[str], typer.Argument(help="Run ids.")], as_json: bool = JSON_OPTION
) -> None:
    """Restore soft-deleted runs."""
    store = context().store
    store.get_runs(run_ids)
    store.restore_runs(run_ids)
    if as_json:
        emit_json({"restored": run_ids})
    else:
        console().print(f"Restored {len(run_ids)} run(s).")
