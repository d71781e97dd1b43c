"""``loopml gc``."""

from __future__ import annotations

from typing import Annotated

import typer

from loopml.cli.common import context
from loopml.cli.output import JSON_OPTION, console, emit_json
from loopml.errors import InvalidInputError

__all__ = ["command", "parse_duration"]

command = typer.Typer(add_completion=False)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, option: str) -> float:
    """``90s``, ``15m``, ``1h``, ``7d`` (or plain seconds) as seconds."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = float(number)
    except ValueError:
        raise InvalidInputError(
            f"{option} {text!r} is not a duration",
            field=option,
            hint="write it like 90s, 15m, 1h or 7d",
        ) from None
    if value < 0:
        raise InvalidInputError(f"{option} must not be negative", field=option)
    return value * _UNITS[unit]


@command.command()
def gc(
    grace: Annotated[
        str,
        typer.Option(help="Keep unreferenced blobs younger than this (a write may be in flight)."),
    ] = "1h",
    purge_deleted: Annotated[
        str | None,
        typer.Option(
            "--purge-deleted", help="Also purge runs deleted longer ago than this, e.g. 30d."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report.")] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete blobs no run references (after a grace period); optionally purge deleted runs."""
    from loopml.tracking.maintenance import collect_garbage

    result = collect_garbage(
        context(),
        grace_seconds=parse_duration(grace, "--grace"),
        purge_deleted_older_than_s=(
            parse_duration(purge_deleted, "--purge-deleted") if purge_deleted else None
        ),
        dry_run=dry_run,
    )
    if as_json:
        emit_json(result)
        return
    verb = "Would delete" if dry_run else "Deleted"
    console().print(
        f"{verb} {len(result.deleted_blobs)} blob(s), {result.freed_bytes:,} bytes; "
        f"kept {result.kept_blobs}; {result.skipped_recent} recent blob(s) left for "
        f"the grace period; purged {len(result.purged_runs)} run(s)."
    )
