"""Finding datasets and versions: list, resolve a URI, read a version's files."""

from __future__ import annotations

from loopml.data.manifest import parse_manifest
from loopml.data.uris import check_dataset_name, parse_dataset_uri
from loopml.entities import Dataset, DatasetVersion, FileEntry
from loopml.errors import CorruptObjectError
from loopml.tracking.context import TrackingContext, get_context

__all__ = ["files", "list_datasets", "manifest_files", "resolve", "resolve_in", "versions"]


def list_datasets(project: str | None = None) -> list[Dataset]:
    """Every dataset (of ``project``, or of all projects), by name.

    Example:
        >>> import loopml
        >>> [d.name for d in loopml.data.list_datasets()]  # doctest: +SKIP
        ['churn-raw', 'churn-features']
    """
    return get_context().store.list_datasets(project)


def versions(name: str) -> list[DatasetVersion]:
    """Every version of the dataset ``name``, newest first.

    Raises:
        InvalidInputError: a malformed name.
        NotFoundError: no dataset of that name.
    """
    return get_context().store.list_dataset_versions(check_dataset_name(name))


def resolve(uri: str) -> DatasetVersion:
    """The version a URI names: ``datasets:/<name>/<version>``, ``datasets:/<name>@latest``
    or ``datasets:/<name>`` (the latest).

    Raises:
        InvalidInputError: a malformed URI (``field="uri"``).
        NotFoundError: no such dataset or version.

    Example:
        >>> import loopml
        >>> loopml.data.resolve("datasets:/churn-raw@latest").version  # doctest: +SKIP
        3
    """
    return resolve_in(get_context(), uri)


def resolve_in(ctx: TrackingContext, uri: str) -> DatasetVersion:
    """:func:`resolve` through an explicit tracking context."""
    ref = parse_dataset_uri(uri)
    return ctx.store.get_dataset_version(ref.name, ref.version)


def files(uri: str) -> list[FileEntry]:
    """The files of the version ``uri`` names (relative path, size, BLAKE3 hex, mode), by path.

    Raises:
        InvalidInputError: a malformed URI.
        NotFoundError: no such dataset or version.
    """
    ctx = get_context()
    return ctx.store.get_dataset_files(resolve_in(ctx, uri).id)


def manifest_files(ctx: TrackingContext, version: DatasetVersion) -> list[FileEntry]:
    """A version's files read from its manifest blob (verified against its hash on read).

    One blob instead of one row per file: what checkout uses for large folders.

    Raises:
        CorruptObjectError: the manifest blob is damaged or is not a manifest.
        NotFoundError: the manifest blob is not in the object store.
    """
    _, entries, _ = parse_manifest(ctx.objects.get_bytes(version.manifest_blob))
    if len(entries) != version.file_count:
        raise CorruptObjectError(
            f"the manifest of {version.uri} lists {len(entries)} files, the version "
            f"{version.file_count}",
            uri=version.uri,
        )
    return sorted(entries, key=lambda entry: entry.path)
