"""``loopml cache``: list, inspect and clear cached step outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli.common import context
from loopml.cli.output import JSON_OPTION, console, emit_json, format_ms, table

if TYPE_CHECKING:
    from loopml.entities.steps import StepCacheEntry
    from loopml.store import Store

__all__ = ["app", "find_entry"]

app = typer.Typer(
    help="List, inspect and clear cached step outputs.", no_args_is_help=True, add_completion=False
)

#: Shortest key prefix ``inspect`` looks up (shorter ones match too much to be meant).
MIN_PREFIX = 6
#: Key characters shown in tables (``inspect`` takes any unique prefix).
SHORT_KEY = 12

PIPELINE_OPTION = typer.Option("--pipeline", "-p", help="Only entries of this pipeline.")


@app.callback()
def cache() -> None:
    """List, inspect and clear cached step outputs."""


def _size(size: int) -> str:
    from loopml.cli.data_extra import format_size

    return format_size(size)


@app.command("list")
def list_entries(
    pipeline: Annotated[str | None, PIPELINE_OPTION] = None,
    step: Annotated[str | None, typer.Option("--step", "-s", help="Only this step.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List cached step executions, newest first."""
    entries = context().store.list_step_cache(pipeline=pipeline, step=step)
    if as_json:
        emit_json([entry.to_dict() for entry in entries])
        return
    rows = [
        (
            entry.key[:SHORT_KEY],
            entry.pipeline,
            entry.step,
            ", ".join(sorted(entry.outputs)) or "-",
            _size(sum(ref.size for ref in entry.outputs.values())),
            format_ms(entry.created_at),
            entry.run_id,
        )
        for entry in entries
    ]
    out = console()
    out.print(table(None, ["key", "pipeline", "step", "outputs", "size", "cached", "run"], rows))
    if not entries:
        out.print("Nothing cached yet: steps are cached when a pipeline runs with cache=True.")


def find_entry(store: Store, key: str) -> StepCacheEntry:
    """The entry of ``key``, or of the one key starting with ``key`` (at least
    :data:`MIN_PREFIX` characters).

    Raises:
        NotFoundError: nothing matches. InvalidInputError: the prefix is ambiguous or short.
    """
    from loopml.errors import InvalidInputError, NotFoundError

    found = store.get_step_cache(key)
    if found is not None:
        return found
    if len(key) < MIN_PREFIX:
        raise InvalidInputError(
            f"no cached step has the key {key!r}",
            field="key",
            hint=f"give the full key or at least {MIN_PREFIX} characters of it",
        )
    matches = [entry for entry in store.list_step_cache() if entry.key.startswith(key)]
    if len(matches) > 1:
        raise InvalidInputError(
            f"{len(matches)} cached steps have keys starting with {key!r}",
            field="key",
            hint="give more characters of the key",
        )
    if not matches:
        raise NotFoundError(
            f"no cached step has a key starting with {key!r}",
            hint="see `loopml cache list`",
        )
    return matches[0]


@app.command("inspect")
def inspect(
    key: Annotated[str, typer.Argument(help="The cache key, or a unique prefix of it.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Show one cached step execution and its outputs (materializer, type, size, blob)."""
    entry = find_entry(context().store, key)
    if as_json:
        emit_json(entry.to_dict())
        return
    out = console()
    out.print(f"key       {entry.key}")
    out.print(f"pipeline  {entry.pipeline}")
    out.print(f"step      {entry.step}")
    out.print(f"run       {entry.run_id}")
    out.print(f"project   {entry.project or '-'}")
    out.print(f"cached    {format_ms(entry.created_at)}")
    rows = [
        (
            name,
            f"{ref.materializer} v{ref.materializer_version}",
            ref.type_name,
            _size(ref.size),
            ref.blob,
            ref.uri or "-",
        )
        for name, ref in sorted(entry.outputs.items())
    ]
    out.print(table("outputs", ["name", "materializer", "type", "size", "blob", "uri"], rows))


@app.command("clear")
def clear(
    pipeline: Annotated[str | None, PIPELINE_OPTION] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Forget cached step executions (all, or one pipeline's); asks first unless --yes.

    The stored outputs stay until `loopml gc` finds nothing else pointing at them.
    """
    store = context().store
    count = len(store.list_step_cache(pipeline=pipeline))
    what = f"{count} cached step execution(s)" + ("" if pipeline is None else f" of {pipeline!r}")
    if count and not yes:
        typer.confirm(f"Forget {what}?", abort=True, err=True)
    deleted = store.delete_step_cache(pipeline=pipeline) if count else 0
    if as_json:
        emit_json({"pipeline": pipeline, "deleted": deleted})
        return
    console().print(
        f"Forgot {deleted} cached step execution(s); `loopml gc` frees their outputs' space."
    )
