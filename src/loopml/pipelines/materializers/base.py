"""The :class:`Materializer` interface and the helpers the built-in ones share."""

from __future__ import annotations

import abc
import enum
import inspect
import os
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from loopml.errors import InvalidInputError
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.objects.blobs import BlobInfo
    from loopml.tracking.context import TrackingContext

__all__ = [
    "MISSING",
    "Materializer",
    "class_paths",
    "derives_from",
    "is_open_hint",
    "put_via_file",
    "strip_annotated",
    "type_name",
]


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


#: "No value": :func:`materializer_for` then judges from the type hint alone.
MISSING: Final = _Missing.MISSING


class Materializer(abc.ABC):
    """Stores one kind of step output in the object store and reads it back.

    ``name`` is recorded in every :class:`~loopml.pipelines.refs.ArtifactRef` (so the
    right materializer loads it) and hashed into cache keys with ``version``; bump
    ``version`` when the stored format changes.

    Example:
        >>> from loopml.pipelines.materializers import get_materializer
        >>> get_materializer("json").handles(dict[str, int])
        True
    """

    name: ClassVar[str]
    version: ClassVar[int]

    @abc.abstractmethod
    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        """Whether this materializer stores ``value`` (when given), else values of
        ``type_hint`` (a class or a generic alias, ``Annotated`` already removed)."""

    @abc.abstractmethod
    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        """Store ``value`` through ``ctx.objects`` (hashed while written); its ref."""

    @abc.abstractmethod
    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        """Read back the value ``ref`` stands for."""

    def __repr__(self) -> str:
        return f"<materializer {self.name} v{self.version}>"

    def check_ref(self, ref: ArtifactRef) -> None:
        """Refuse a ref this materializer did not write, or wrote in a newer format.

        Raises:
            InvalidInputError: the ref's materializer or version does not fit.
        """
        if ref.materializer != self.name:
            raise InvalidInputError(
                f"blake3:{ref.blob} was stored by materializer {ref.materializer!r}, "
                f"not {self.name!r}",
                field="materializer",
            )
        if ref.materializer_version > self.version:
            raise InvalidInputError(
                f"blake3:{ref.blob} was stored by {self.name} v{ref.materializer_version}; "
                f"this loopml reads up to v{self.version}",
                field="materializer_version",
                hint="upgrade loopml",
            )

    def check_value(self, value: Any) -> None:
        """Refuse a value this materializer does not store (a step that returned something
        else than its return type says).

        Raises:
            InvalidInputError: ``value`` is not handled (``field="value"``).
        """
        if not self.handles(None, value):
            raise InvalidInputError(
                f"the {self.name} materializer cannot store a {type_name(value)}",
                field="value",
                hint="return what the step's return type says, or fix the annotation",
            )

    def blob_ref(self, value: Any, info: BlobInfo, *, uri: str | None = None) -> ArtifactRef:
        """The ref of a single-blob output (``content_hash`` is the blob)."""
        return ArtifactRef(
            materializer=self.name,
            materializer_version=self.version,
            blob=info.hex,
            content_hash=info.hex,
            type_name=type_name(value),
            size=info.size,
            uri=uri,
        )


def type_name(value: Any) -> str:
    """``module.QualName`` of ``value``'s class (``pandas.core.frame.DataFrame``)."""
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def class_paths(cls: Any) -> list[str]:
    """``module.QualName`` of every class in ``cls``'s MRO (empty for a non-class)."""
    mro = getattr(cls, "__mro__", None)
    if not isinstance(cls, type) or mro is None:
        return []
    return [f"{c.__module__}.{c.__qualname__}" for c in mro]


def derives_from(cls: Any, package: str, qualname: str) -> bool:
    """True when ``cls`` is, or subclasses, the class ``qualname`` of the top-level
    ``package`` (wherever inside it the class says it lives: pandas moves them)."""
    mro = getattr(cls, "__mro__", None)
    if not isinstance(cls, type) or mro is None:
        return False
    return any(
        c.__qualname__ == qualname and c.__module__.partition(".")[0] == package for c in mro
    )


def strip_annotated(hint: Any) -> Any:
    """``T`` for ``Annotated[T, ...]`` (nested too), else ``hint``."""
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def is_open_hint(hint: Any) -> bool:
    """True for a hint that says nothing about the value: none, ``Any``, ``object``, a
    ``TypeVar``, or an unresolved string annotation; the value decides at run time."""
    return (
        hint is MISSING
        or hint is None
        or hint is inspect.Parameter.empty
        or hint is inspect.Signature.empty
        or hint is Any
        or hint is object
        or isinstance(hint, str | typing.TypeVar | typing.ForwardRef)
    )


def put_via_file(ctx: TrackingContext, write: Callable[[Path], None], suffix: str) -> BlobInfo:
    """Let ``write`` fill a temp file, then store it (hashed while copied) and remove it."""
    with tempfile.TemporaryDirectory(prefix="loopml-out-") as folder:
        path = Path(folder) / f"value{suffix}"
        write(path)
        return ctx.objects.put_file(os.fspath(path))
