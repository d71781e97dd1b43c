"""Records of the model registry: registered models, their versions, and the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["AUDIT_ACTIONS", "AuditEvent", "ModelVersion", "RegisteredModel"]

#: Every ``AuditEvent.action``, in the order a model's life usually meets them.
AUDIT_ACTIONS: tuple[str, ...] = (
    "create_model",
    "create_version",
    "set_alias",
    "delete_alias",
    "set_tag",
    "delete_tag",
    "set_description",
    "delete_version",
    "delete_model",
)


def _no_tags() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_aliases() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model in the registry, with its newest live version and its aliases.

    ``aliases`` maps each alias (``champion``, ``staging``, ...) to the version it points at.
    ``latest_version`` is None while the model has no live version.
    """

    id: str
    name: str
    created_at: int
    updated_at: int
    project: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=_no_tags)
    latest_version: int | None = None
    aliases: Mapping[str, int] = field(default_factory=_no_aliases)

    @property
    def uri(self) -> str:
        """``models:/<name>``."""
        return f"models:/{self.name}"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable version of a registered model.

    ``package_blob`` is the BLAKE3 hex of the package's ``loopml-model.yaml`` (the package
    id); ``source`` is where it came from: ``runs:/<run_id>/<path>`` or an absolute local
    path. Version numbers count up per model from 1 and are never reused, not even after a
    version is deleted.
    """

    id: str
    name: str
    version: int
    created_at: int
    package_blob: str
    flavor: str
    source: str
    run_id: str | None = None
    artifact_path: str | None = None
    created_by: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=_no_tags)
    aliases: tuple[str, ...] = ()
    project: str | None = None

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change to a registered model: who (``actor``) did what (``action``) and when.

    ``key`` names what changed (the alias or tag key), ``old`` and ``new`` are its values
    before and after, as text (a version number for an alias), None where there is none.
    """

    id: str
    model: str
    action: str
    at: int
    version: int | None = None
    key: str | None = None
    old: str | None = None
    new: str | None = None
    actor: str | None = None
