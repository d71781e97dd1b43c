"""How the CLI prints: Rich tables for people, JSON for scripts, errors on stderr."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from loopml.entities import to_jsonable
from loopml.errors import LoopmlError

__all__ = [
    "JSON_OPTION",
    "console",
    "emit_json",
    "format_ms",
    "format_value",
    "print_error",
    "sparkline",
    "table",
]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON (for scripts) instead of a table.")


def _width() -> int | None:
    """Terminal width on a terminal; 200 columns (or $COLUMNS) when piped, so ids never fold."""
    if sys.stdout.isatty():
        return None
    try:
        return int(os.environ.get("COLUMNS", "200"))
    except ValueError:
        return 200


def console() -> Console:
    """The stdout console, sized now (so a changed $COLUMNS or a redirected stdout counts)."""
    return Console(highlight=False, soft_wrap=False, width=_width())


_err = Console(stderr=True, highlight=False)


def emit_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (records become objects)."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")


def print_error(error: LoopmlError) -> None:
    """Print a loopml error as ``error: ...`` plus its hint, on stderr."""
    _err.print(f"[bold red]error:[/] {error.message}", markup=True, highlight=False)
    if error.hint:
        _err.print(f"[yellow]hint:[/] {error.hint}", markup=True, highlight=False)


def format_ms(ms: int | None) -> str:
    """A UTC timestamp in ms as ``YYYY-MM-DD HH:MM:SS``."""
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(ms: int | None) -> str:
    """``1.2s``, ``3m04s``, ``2h05m``."""
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_value(value: object) -> str:
    """Numbers with up to 6 significant digits; everything else as text."""
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.6g}"
    return "-" if value is None else str(value)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A Rich table with ``columns`` and ``rows`` (values formatted with format_value)."""
    out = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(cell if hasattr(cell, "__rich__") else format_value(cell) for cell in row))
    return out


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """A one-line Unicode chart of ``values`` (resampled to ``width`` points)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(values) > width:
        stride = len(values) / width
        values = [values[int(i * stride)] for i in range(width)]
    low, high = min(finite), max(finite)
    span = high - low or 1.0
    return "".join(
        _BARS[int((v - low) / span * (len(_BARS) - 1))] if math.isfinite(v) else " " for v in values
    )
