"""Dataset URIs: ``datasets:/<name>/<version>``, ``datasets:/<name>@latest``,
``datasets:/<name>`` (the latest)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from loopml.errors import InvalidInputError

__all__ = ["DATASET_NAME", "DatasetRef", "check_dataset_name", "parse_dataset_uri"]

#: What a dataset name may look like: starts with a letter or digit; letters, digits, ``._-``.
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SCHEME = "datasets:/"


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A parsed dataset URI. ``version`` None means the latest version."""

    name: str
    version: int | None = None

    @property
    def uri(self) -> str:
        """The canonical URI (``@latest`` when no version is pinned)."""
        suffix = "@latest" if self.version is None else f"/{self.version}"
        return f"{_SCHEME}{self.name}{suffix}"


def check_dataset_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise InvalidInputError."""
    if not isinstance(name, str) or not DATASET_NAME.match(name):
        raise InvalidInputError(
            f"invalid dataset name {name!r}",
            field="name",
            hint="use letters, digits, '.', '_' and '-' (up to 128), starting with a letter "
            "or digit",
        )
    return name


def parse_dataset_uri(uri: str) -> DatasetRef:
    """Parse ``datasets:/name/3``, ``datasets:/name@latest`` or ``datasets:/name``.

    Raises:
        InvalidInputError: the URI is malformed (``field="uri"``), saying the accepted forms.

    Example:
        >>> parse_dataset_uri("datasets:/churn-raw/3")
        DatasetRef(name='churn-raw', version=3)
    """
    hint = "write datasets:/<name>/<version> or datasets:/<name>@latest"
    if not isinstance(uri, str) or not uri.startswith(_SCHEME):
        raise InvalidInputError(f"not a dataset URI: {uri!r}", field="uri", uri=str(uri), hint=hint)
    body = uri[len(_SCHEME) :]
    version: int | None = None
    if body.endswith("@latest"):
        body = body[: -len("@latest")]
    elif "/" in body:
        body, _, text = body.partition("/")
        if not text.isdigit() or int(text) < 1:
            raise InvalidInputError(
                f"dataset version must be a positive integer in {uri!r}",
                field="uri",
                uri=uri,
                hint=hint,
            )
        version = int(text)
    elif "@" in body:
        raise InvalidInputError(
            f"unknown alias in {uri!r}; datasets know only @latest", field="uri", uri=uri, hint=hint
        )
    if not DATASET_NAME.match(body):
        raise InvalidInputError(f"invalid dataset name in {uri!r}", field="uri", uri=uri, hint=hint)
    return DatasetRef(body, version)
