"""``loopml data diff|push|pull``: added to the ``data`` group by :func:`register`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from loopml.cli.output import JSON_OPTION, console, emit_json, table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from loopml.data.diff import DatasetDiff, TableDiff
    from loopml.data.remote import TransferReport

__all__ = ["format_size", "register", "render_diff"]

REMOTE_OPTION = typer.Option(
    "--remote", "-r", help="The other object store: a folder, file:///path or s3://bucket/prefix."
)
ALL_VERSIONS_OPTION = typer.Option(
    "--all-versions", help="Every version of the dataset, not only the one named."
)
WORKERS_OPTION = typer.Option("--workers", "-w", min=1, max=64, help="Blobs copied at once.")


def register(app: typer.Typer) -> None:
    """Add ``diff``, ``push`` and ``pull`` to the ``loopml data`` app."""
    app.command("diff")(diff)
    app.command("push")(push)
    app.command("pull")(pull)


def diff(
    uri_a: Annotated[str, typer.Argument(help="The reference, e.g. datasets:/churn/1.")],
    uri_b: Annotated[str, typer.Argument(help="Compared with it, e.g. datasets:/churn@latest.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare two dataset versions: files, and for tables schema, rows and column stats."""
    from loopml.data.diff import diff as diff_versions

    result = diff_versions(uri_a, uri_b)
    if as_json:
        emit_json(result.to_dict())
        return
    out = console()
    for part in render_diff(result):
        out.print(part)


def push(
    name: Annotated[str, typer.Argument(help="Dataset name (its latest version) or URI.")],
    remote: Annotated[str, REMOTE_OPTION],
    all_versions: Annotated[bool, ALL_VERSIONS_OPTION] = False,
    workers: Annotated[int, WORKERS_OPTION] = 8,
    as_json: bool = JSON_OPTION,
) -> None:
    """Copy a dataset version's blobs to another object store (only those it lacks)."""
    from loopml.data.remote import push as push_blobs

    report = push_blobs(name, remote, all_versions=all_versions, workers=workers)
    _print_report(report, as_json)


def pull(
    name: Annotated[str, typer.Argument(help="Dataset name (its latest version) or URI.")],
    remote: Annotated[str, REMOTE_OPTION],
    all_versions: Annotated[bool, ALL_VERSIONS_OPTION] = False,
    workers: Annotated[int, WORKERS_OPTION] = 8,
    as_json: bool = JSON_OPTION,
) -> None:
    """Copy a dataset version's blobs from another object store into the local one."""
    from loopml.data.remote import pull as pull_blobs

    report = pull_blobs(name, remote, all_versions=all_versions, workers=workers)
    _print_report(report, as_json)


def _print_report(report: TransferReport, as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    verb = "Pushed" if report.direction == "push" else "Pulled"
    versions = ", ".join(report.versions)
    console().print(
        f"{verb} {versions}: {report.copied} blobs copied ({format_size(report.bytes_copied)}), "
        f"{report.present} already at {report.destination}."
    )


def format_size(size: int | None) -> str:
    """``512 B``, ``12.3 KiB``, ``4.0 MiB``, …"""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _signed(value: float | None, digits: str = ".4g") -> str:
    if value is None:
        return "-"
    return f"{value:+{digits}}" if value else "0"


def render_diff(result: DatasetDiff) -> list[RenderableType]:
    """The diff as Rich renderables: a summary line, the file changes, the table changes."""
    parts: list[RenderableType] = []
    kinds = result.kind_a.value
    if result.kind_b != result.kind_a:
        kinds = f"{result.kind_a.value} -> {result.kind_b.value}"
    head = Text(f"{result.uri_a} -> {result.uri_b} ({kinds})", style="bold")
    parts.append(head)
    if result.identical:
        parts.append(Text("Identical: same files, same content.", style="green"))
        return parts
    sizes = format_size(abs(result.size_delta))
    sign = "-" if result.size_delta < 0 else "+"
    parts.append(
        Text(
            f"Files: {len(result.added)} added, {len(result.removed)} removed, "
            f"{len(result.modified)} modified, {result.unchanged} unchanged ({sign}{sizes})"
        )
    )
    rows: list[list[object]] = []
    for label, style, changes in (
        ("added", "green", result.added),
        ("removed", "red", result.removed),
        ("modified", "yellow", result.modified),
    ):
        rows.extend(
            [Text(label, style=style), c.path, format_size(c.size_a), format_size(c.size_b)]
            for c in changes
        )
    if rows:
        parts.append(table(None, ["change", "path", "size A", "size B"], rows))
    if result.table is not None:
        parts.extend(_render_table_diff(result.table))
    return parts


def _render_table_diff(diff: TableDiff) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Text(f"Rows: {diff.rows_a} -> {diff.rows_b} ({diff.rows_delta:+d})")
    ]
    if diff.schema_changed:
        schema = Text("Schema:\n")
        for c in diff.columns_added:
            schema.append(f"  + {c.name} ({c.type})\n", style="green")
        for c in diff.columns_removed:
            schema.append(f"  - {c.name} ({c.type})\n", style="red")
        for t in diff.type_changes:
            null_a = "" if t.nullable_a else " not null"
            null_b = "" if t.nullable_b else " not null"
            schema.append(
                f"  ~ {t.name}: {t.type_a}{null_a} -> {t.type_b}{null_b}\n", style="yellow"
            )
        schema.rstrip()
        parts.append(schema)
    else:
        parts.append(Text("Schema: unchanged"))
    rows = [
        [
            Text(s.name, style="yellow" if s.changed else ""),
            s.kind,
            _pair(s.mean_a, s.mean_b),
            _pair(s.std_a, s.std_b),
            f"{_pct(s.null_rate_a)} -> {_pct(s.null_rate_b)}",
            _signed(s.distinct_delta, "d"),
            _psi(s.psi),
        ]
        for s in diff.column_shifts
    ]
    if rows:
        headers = ["column", "kind", "mean A -> B", "std A -> B", "nulls", "distinct Δ", "PSI"]
        parts.append(table("Column shifts", headers, rows))
    return parts


def _pair(a: float | None, b: float | None) -> str:
    if a is None and b is None:
        return "-"
    return f"{_num(a)} -> {_num(b)}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _psi(value: float | None) -> Text:
    if value is None:
        return Text("-")
    style = "red" if value > 0.25 else "yellow" if value >= 0.1 else ""
    return Text(f"{value:.3f}", style=style)
