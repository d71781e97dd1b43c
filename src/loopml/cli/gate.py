"""``loopml gate CHALLENGER --against CHAMPION --data URI --target COL``: the CI decision.

Exit codes: 0 the gate passed, 1 it failed (or a model/data was not found), 2 usage error
(a criterion that does not parse, an unknown column, a malformed URI).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from loopml.cli.output import JSON_OPTION, console, emit_json, format_value

if TYPE_CHECKING:
    from loopml.gates.report import GateReport

__all__ = ["command", "render_summary"]

command = typer.Typer(add_completion=False)

_STATUS_STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


@command.command()
def gate(
    challenger: Annotated[
        str,
        typer.Argument(
            help="The candidate: models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/PATH or a "
            "package folder."
        ),
    ],
    data: Annotated[
        str,
        typer.Option(
            "--data", help="Evaluation table: datasets:/NAME/VERSION or datasets:/NAME@latest."
        ),
    ],
    target: Annotated[str, typer.Option("--target", help="Column with the true values.")],
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="The champion (e.g. models:/NAME@champion). If that alias does not exist "
            "yet, the challenger is judged on --require alone.",
        ),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option("--require", help='Absolute requirement, e.g. "accuracy>=0.9" (repeatable).'),
    ] = None,
    max_regression: Annotated[
        list[str] | None,
        typer.Option(
            "--max-regression",
            help='Allowed regression vs the champion, e.g. "f1:0.01" (repeatable); also '
            "checked on every slice.",
        ),
    ] = None,
    slices: Annotated[
        list[str] | None,
        typer.Option("--slice", help="Check each value of this column too (repeatable)."),
    ] = None,
    latency_p95_ms: Annotated[
        float | None,
        typer.Option("--latency-p95-ms", help="Fail if the p95 of predict on a batch is slower."),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir", help="Write report.json, report.md and junit.xml into this folder."
        ),
    ] = None,
    promote: Annotated[
        str | None,
        typer.Option("--promote", help="On pass, point this alias at the challenger."),
    ] = None,
    task: Annotated[
        str, typer.Option("--task", help="auto, classification or regression.")
    ] = "auto",
    bootstrap: Annotated[
        int,
        typer.Option("--bootstrap", min=0, help="Paired bootstrap resamples (0: none)."),
    ] = 1000,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Confidence level of the intervals.")
    ] = 0.95,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for the bootstrap (reproducible CIs).")
    ] = None,
    min_slice_rows: Annotated[
        int,
        typer.Option("--min-slice-rows", min=1, help="Smaller slices are shown, not judged."),
    ] = 30,
    latency_batch_rows: Annotated[
        int, typer.Option("--latency-batch-rows", min=1, help="Rows per timed predict call.")
    ] = 100,
    as_json: bool = JSON_OPTION,
) -> None:
    """Judge a challenger model against the champion on one dataset version.

    Checks absolute requirements, the regression against the champion (overall and per
    slice) and predict latency; reports paired-bootstrap confidence intervals of every
    metric's change. Exit 0 pass, 1 fail, 2 usage error.
    """
    from loopml.gates import run_gate

    report = run_gate(
        challenger,
        against=against,
        data=data,
        target=target,
        require=require or (),
        max_regression=max_regression or (),
        slices=slices or (),
        latency_p95_ms=latency_p95_ms,
        task=task,
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        min_slice_rows=min_slice_rows,
        latency_batch_rows=latency_batch_rows,
        promote=promote,
    )
    written = report.write(report_dir) if report_dir is not None else {}
    if as_json:
        emit_json(report.to_dict())
    else:
        render_summary(report)
        for path in written.values():
            console().print(Text(f"wrote {path}", style="dim"))
    if not report.passed:
        raise typer.Exit(1)


def render_summary(report: GateReport) -> None:
    """The verdict, the checks and the metrics, as Rich output on stdout."""
    out = console()
    verdict = Text("PASSED", style="bold green") if report.passed else Text("FAILED", "bold red")
    out.print(Text("gate ", style="bold").append(verdict))
    against = report.champion.shown if report.champion else "no champion"
    out.print(
        f"challenger {report.challenger.shown} vs {against} on "
        f"{report.data.resolved or report.data.uri} ({report.data.rows} rows, "
        f"target {report.target}, {report.task})",
        markup=False,
    )
    if report.champion_note:
        out.print(Text(report.champion_note, style="yellow"))
    if report.checks:
        rows = [
            [
                Text(c.status, style=_STATUS_STYLE[c.status]),
                c.name,
                c.value,
                c.threshold,
                c.detail,
            ]
            for c in report.checks
        ]
        out.print(_table("Checks", ["status", "check", "value", "threshold", "detail"], rows))
    else:
        out.print(Text("no checks requested", style="dim"))
    out.print(_metrics_table(report))
    for who, lat in report.latency.items():
        out.print(
            f"latency {who}: p95 {lat.p95_ms:.3g} ms per predict of {lat.batch_rows} rows",
            markup=False,
        )
    for note in report.notes:
        out.print(Text(f"note: {note}", style="dim"))
    if report.promoted:
        out.print(Text(f"promoted {report.promoted}", style="bold green"))


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A Rich table whose text cells are shown as they are ("[region=eu]" is not markup)."""
    out = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(c if isinstance(c, Text) else Text(format_value(c)) for c in row))
    return out


def _metrics_table(report: GateReport) -> Table:
    new = report.metrics.get("challenger", {})
    old = report.metrics.get("champion")
    if old is None:
        return _table("Metrics", ["metric", "challenger"], [[k, v] for k, v in new.items()])
    boot = {b.metric: b for b in report.bootstrap}
    rows = []
    for metric, value in new.items():
        b = boot.get(metric)
        ci = f"[{format_value(b.ci_low)}, {format_value(b.ci_high)}]" if b else "-"
        rows.append([metric, old.get(metric), value, ci, b.summary if b else "-"])
    level = f"{report.settings.get('confidence', 0.95):.0%}"
    return _table(
        "Metrics", ["metric", "champion", "challenger", f"{level} CI of Δ", "verdict"], rows
    )
