"""``loopml data``: add, list, versions, show, status, checkout (and diff, push, pull).

``status`` reads only the local data cache and the files, so it never imports the metadata
store (SQLAlchemy) or fsspec; the other commands import what they need when they run.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli.output import JSON_OPTION, console, emit_json, format_ms, table

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from loopml.data.progress import ProgressFn
    from loopml.data.status import StatusReport
    from loopml.entities import DatasetVersion

__all__ = ["app", "status_main"]

app = typer.Typer(
    help="Version data: add, status, checkout, list, show (and diff, push, pull).",
    no_args_is_help=True,
    add_completion=False,
)

LINK_HELP = (
    "How files are placed: auto (reflink where the filesystem can, else hardlink, else "
    "copy), reflink, hardlink (read-only files), symlink or copy."
)
#: Progress bars appear only for work that has taken longer than this.
PROGRESS_AFTER_S = 1.0


@app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="The folder or file to version.")],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Dataset name (default: the path's name).")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="What this version is.")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Project (default: configured).")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Hash every file (do not trust the stat cache).")
    ] = False,
    pack: Annotated[
        bool,
        typer.Option(
            "--pack/--no-pack",
            help=(
                "Store many small files together in a pack (fast to add and push); "
                "--no-pack keeps a file per blob, which a checkout can hardlink."
            ),
        ),
    ] = True,
    link: Annotated[
        str | None,
        typer.Option(
            "--link",
            "-l",
            help=(
                "copy: copy new files into the store (your files stay as they are); "
                "hardlink: take them in as hardlinks, nothing copied, and make them "
                "read-only (as a hardlinked checkout is). Default: the data_add_link "
                "setting, else copy."
            ),
        ),
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Version a folder or file; the same content gives the same version."""
    with _gc_paused():  # also while the store's modules are imported
        from loopml.data.add import add_path, check_add_link

    with _progress() as report, _gc_paused():
        result = add_path(
            path,
            name,
            message,
            project=project,
            verify=verify,
            progress=report,
            pack=pack,
            link=None if link is None else check_add_link(link),
        )
    version = result.version
    if as_json:
        emit_json(
            {
                "uri": version.uri,
                "created": result.created,
                "path": result.path,
                "files": result.files,
                "hashed_files": result.hashed_files,
                "hashed_bytes": result.hashed_bytes,
                "version": version,
            }
        )
        return
    size = _size(version.total_size)
    if result.created:
        console().print(
            f"Added {path} as [bold]{version.uri}[/] ({version.file_count:,} files, {size})."
        )
    else:
        console().print(
            f"No change: {path} is [bold]{version.uri}[/] already "
            f"({version.file_count:,} files, {size}); no new version."
        )


@app.command("list")
def list_datasets(
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List datasets with their latest version."""
    from loopml.data.catalog import list_datasets as find

    datasets = find(project)
    if as_json:
        emit_json(datasets)
        return
    rows = [
        (d.name, d.project, d.latest_version, d.version_count, format_ms(d.created_at))
        for d in datasets
    ]
    console().print(table(None, ["name", "project", "latest", "versions", "created"], rows))
    if not datasets:
        console().print("No datasets yet: loopml data add PATH makes one.")


@app.command("versions")
def versions(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """List a dataset's versions, newest first."""
    from loopml.data.catalog import versions as find

    found = find(name)
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            v.version,
            v.kind.value,
            f"{v.file_count:,}",
            _size(v.total_size),
            format_ms(v.created_at),
            v.author or "-",
            v.source_run_id or "-",
            v.message or "",
        )
        for v in found
    ]
    columns = ["version", "kind", "files", "size", "created", "author", "run", "message"]
    console().print(table(f"{name}", columns, rows))


@app.command("show")
def show(
    uri: Annotated[str, typer.Argument(help="datasets:/NAME/VERSION or datasets:/NAME@latest.")],
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Files to list (the rest are counted).")
    ] = 20,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a version: attributes and files; for a table, its schema and profile."""
    from loopml.cli.common import context
    from loopml.data.catalog import manifest_files, resolve_in

    ctx = context()
    version = resolve_in(ctx, uri)
    entries = manifest_files(ctx, version)
    if as_json:
        emit_json({"version": version, "files": entries})
        return
    out = console()
    out.print(table(version.uri, ["field", "value"], _attributes(version)))
    shown = entries[:limit]
    out.print(
        table(
            "files",
            ["path", "size", "mode", "blob"],
            [(e.path, _size(e.size), oct(e.mode), f"blake3:{e.blob[:16]}…") for e in shown],
        )
    )
    if len(entries) > len(shown):
        more = entries[len(shown) :]
        out.print(f"… and {len(more):,} more files ({_size(sum(e.size for e in more))}).")
    table_view = _table_view(version)
    if table_view is not None:
        out.print(table_view)


@app.command("status")
def status(
    path: Annotated[
        Path, typer.Argument(help="A tracked folder or file, or a folder holding some.")
    ] = Path("."),
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Hash every file: also catch changes that kept size and mtime."
        ),
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show what changed in a tracked folder since its version (no store needed)."""
    _status(path, verify=verify, as_json=as_json)


def _status(path: Path, *, verify: bool, as_json: bool) -> None:
    with _progress() as report, _gc_paused():
        from loopml.data.status import statuses

        reports, single = statuses(path, verify=verify, progress=report)
    if as_json:
        bodies = [_status_json(r) for r in reports]
        emit_json(bodies[0] if single else bodies)
        return
    for item in reports:
        _print_status(item, str(path) if single else item.path)


def status_main(argv: list[str]) -> int | None:
    """``loopml data status`` without Typer's parsing, for the root's entry point.

    Typer (0.29) coerces every option through pydantic, whose import alone is ~60 ms of
    the 0.3 s that ``status`` of 20,000 files should take as a whole process. This handles
    the plain forms, ``[PATH] [--verify] [--json]``, and returns the exit code; for anything
    else (``--help``, unknown options, ``--``) it returns None and Typer parses as usual,
    with its help and usage errors.
    """
    from loopml.errors import LoopmlError, exit_code_for

    options = {arg for arg in argv if arg.startswith("-")}
    paths = [arg for arg in argv if not arg.startswith("-")]
    if options - {"--verify", "--json"} or len(paths) > 1:
        return None
    try:
        _status(
            Path(paths[0] if paths else "."),
            verify="--verify" in options,
            as_json="--json" in options,
        )
    except LoopmlError as exc:
        from loopml.cli.output import print_error

        print_error(exc)
        return exit_code_for(exc)
    return 0


@app.command("checkout")
def checkout(
    uri: Annotated[str, typer.Argument(help="datasets:/NAME/VERSION or datasets:/NAME@latest.")],
    to: Annotated[Path, typer.Option("--to", "-t", help="Destination folder (or file).")],
    link: Annotated[str, typer.Option("--link", "-l", help=LINK_HELP)] = "auto",
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite files with local changes.")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Hash every blob (do not trust the stat cache).")
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Materialize a version at a folder, every blob verified; reflinks or hardlinks where
    possible."""
    with _gc_paused():  # also while the store's modules are imported
        from loopml.cli.common import context
        from loopml.data.catalog import resolve_in
        from loopml.data.checkout import check_link, checkout_version
        from loopml.data.versioning import record_input

        mode = check_link(link)
        ctx = context()
        version = resolve_in(ctx, uri)
        with _progress() as report:
            result = checkout_version(
                ctx, version, to, link=mode, force=force, verify=verify, progress=report
            )
        record_input(ctx, version)
    if as_json:
        emit_json(
            {
                "uri": version.uri,
                "path": str(result.path),
                "files": result.files,
                "written": result.written,
                "methods": result.methods,
                "removed": result.removed,
                "kept": result.kept,
            }
        )
        return
    how = ", ".join(f"{count:,} {method}" for method, count in sorted(result.methods.items()))
    already = result.files - result.written
    detail = how or "nothing to write"
    if already:
        detail += f"; {already:,} already in place"
    console().print(
        f"Checked out [bold]{version.uri}[/] to {to} ({result.files:,} files: {detail})."
    )
    if result.removed:
        console().print(f"Removed {len(result.removed):,} files of the previous version.")
    if result.kept:
        console().print(
            f"Left {len(result.kept):,} files that are not in the version: "
            + ", ".join(result.kept[:5])
            + (" …" if len(result.kept) > 5 else "")
        )


# -- helpers ------------------------------------------------------------------------------


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _attributes(version: DatasetVersion) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        ("dataset", version.dataset),
        ("version", version.version),
        ("project", version.project),
        ("kind", version.kind.value),
        ("files", f"{version.file_count:,}"),
        ("size", _size(version.total_size)),
        ("created", format_ms(version.created_at)),
        ("author", version.author),
        ("message", version.message),
        ("source run", version.source_run_id),
        ("content id", f"blake3:{version.content_id}"),
    ]
    if version.num_rows is not None:
        rows.append(("rows", f"{version.num_rows:,}"))
    return rows


def _table_view(version: DatasetVersion) -> Any:
    """The table part of ``show`` (schema and profile), from loopml.data.tables if present."""
    if version.kind.value != "table":
        return None
    try:
        from loopml.data import tables
    except ModuleNotFoundError as exc:
        if exc.name != "loopml.data.tables":
            raise
        return None
    show_table = getattr(tables, "show_table", None)
    return None if show_table is None else show_table(version)


def _status_json(report: StatusReport) -> dict[str, object]:
    return {
        "path": report.path,
        "dataset": report.dataset,
        "version": report.version,
        "uri": report.uri,
        "clean": report.clean,
        "added": report.added,
        "removed": report.removed,
        "modified": report.modified,
        "unchanged_count": report.unchanged_count,
    }


def _print_status(report: StatusReport, shown: str) -> None:
    out = console()
    if report.clean:
        out.print(f"{shown}: no changes since {report.uri} ({report.unchanged_count:,} files).")
        return
    out.print(f"{shown}: [bold]changed[/] since {report.uri}")
    for label, paths, style in (
        ("modified", report.modified, "yellow"),
        ("added", report.added, "green"),
        ("removed", report.removed, "red"),
    ):
        for item in paths:
            out.print(f"  [{style}]{label}:[/] {item}", highlight=False)
    out.print(
        f"{len(report.modified):,} modified, {len(report.added):,} added, "
        f"{len(report.removed):,} removed, {report.unchanged_count:,} unchanged."
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a command handles thousands of files.

    Their records are tuples and strings in lists and dicts, which make no cycles, but each
    allocation counts toward a collection that scans them all, as does each module imported
    (SQLAlchemy's thousands of objects): measured on 20,000 files, a process without
    collections ran ``checkout`` 60-120 ms and ``status`` 10-20 ms faster.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _progress() -> Iterator[ProgressFn]:
    """A progress reporter that shows a Rich bar on stderr once the work passes a second."""
    bar = _DelayedBar()
    try:
        yield bar
    finally:
        bar.stop()


class _DelayedBar:
    """Reports progress with a Rich bar on stderr, once the work has taken more than
    :data:`PROGRESS_AFTER_S`, and only on a terminal (piped, nothing would be shown)."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._enabled = sys.stderr.isatty()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self._progress is None:
            if not self._enabled or time.monotonic() - self._start < PROGRESS_AFTER_S:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._progress.add_task(phase, total=total)
        self._progress.update(task, completed=done, total=total)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


try:
    from loopml.cli.data_extra import register
except ModuleNotFoundError as exc:  # the diff/push/pull commands are optional
    if exc.name != "loopml.cli.data_extra":
        raise
else:
    register(app)
