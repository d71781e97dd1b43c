"""The model package manifest, ``loopml-model.yaml``.

A package is a folder: the flavor's files plus this manifest, which records the flavor and
its format, the signature, the input example, the environment, where the model came from
(run, datasets, metrics, params), the BLAKE3 hash and size of every file, and whether loading
it runs pickle. Once stored, the manifest's own blob hash is the package id.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import CorruptObjectError, InvalidInputError
from loopml.models.signature import Signature

if TYPE_CHECKING:
    from loopml.models.environment import Environment

__all__ = ["MANIFEST_FORMAT", "MANIFEST_NAME", "FileInfo", "ModelManifest", "hash_package_files"]

MANIFEST_NAME = "loopml-model.yaml"
MANIFEST_FORMAT = 1


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file of a package: its BLAKE3 hex and size."""

    blake3: str
    size: int


@dataclass(frozen=True)
class ModelManifest:
    """What ``loopml-model.yaml`` says about a package."""

    flavor: str
    files: Mapping[str, FileInfo]
    loader: Mapping[str, Any] = field(default_factory=dict)
    flavor_version: str | None = None
    signature: Signature | None = None
    input_example: str | None = None
    environment: Environment | None = None
    pickle: bool = False
    run_id: str | None = None
    datasets: tuple[str, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    created_at: int | None = None
    loopml_version: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def with_(self, **changes: Any) -> ModelManifest:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain data, in the order it is written."""
        body: dict[str, Any] = {
            "format": self.format,
            "flavor": self.flavor,
            "flavor_version": self.flavor_version,
            "loader": dict(self.loader),
            "pickle": self.pickle,
            "signature": self.signature.to_dict() if self.signature else None,
            "input_example": self.input_example,
            "environment": self.environment.to_dict() if self.environment else None,
            "run_id": self.run_id,
            "datasets": list(self.datasets),
            "metrics": dict(self.metrics),
            "params": dict(self.params),
            "created_at": self.created_at,
            "loopml_version": self.loopml_version,
            "metadata": dict(self.metadata),
            "files": {
                path: {"blake3": info.blake3, "size": info.size}
                for path, info in sorted(self.files.items())
            },
        }
        return body

    def to_yaml(self) -> str:
        """The manifest as YAML text."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ModelManifest:
        """Read a manifest body.

        Raises:
            CorruptObjectError: required keys are missing or malformed.
        """
        try:
            fmt = int(body.get("format", MANIFEST_FORMAT))
            if fmt > MANIFEST_FORMAT:
                raise InvalidInputError(
                    f"model manifest format {fmt} is newer than this loopml understands",
                    field="format",
                    hint="upgrade loopml",
                )
            env_body = body.get("environment")
            environment = None
            if env_body:
                from loopml.models.environment import Environment

                environment = Environment.from_dict(env_body)
            sig_body = body.get("signature")
            return cls(
                flavor=str(body["flavor"]),
                files={
                    str(path): FileInfo(str(info["blake3"]), int(info["size"]))
                    for path, info in (body.get("files") or {}).items()
                },
                loader=dict(body.get("loader") or {}),
                flavor_version=body.get("flavor_version"),
                signature=Signature.from_dict(sig_body) if sig_body else None,
                input_example=body.get("input_example"),
                environment=environment,
                pickle=bool(body.get("pickle", False)),
                run_id=body.get("run_id"),
                datasets=tuple(body.get("datasets") or ()),
                metrics={str(k): float(v) for k, v in (body.get("metrics") or {}).items()},
                params={str(k): str(v) for k, v in (body.get("params") or {}).items()},
                created_at=body.get("created_at"),
                loopml_version=body.get("loopml_version"),
                metadata=dict(body.get("metadata") or {}),
                format=fmt,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, InvalidInputError):
                raise
            raise CorruptObjectError(f"not a loopml model manifest: {exc!r}") from exc

    @classmethod
    def from_yaml(cls, text: str | bytes) -> ModelManifest:
        """Parse ``loopml-model.yaml`` text."""
        import yaml

        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CorruptObjectError(f"{MANIFEST_NAME} is not valid YAML: {exc}") from exc
        if not isinstance(body, Mapping):
            raise CorruptObjectError(f"{MANIFEST_NAME} does not hold a mapping")
        return cls.from_dict(body)

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> ModelManifest:
        """The manifest of the package in ``folder``.

        Raises:
            InvalidInputError: ``folder`` has no ``loopml-model.yaml`` (``field="path"``).
        """
        path = Path(folder) / MANIFEST_NAME
        if not path.is_file():
            raise InvalidInputError(
                f"{folder} is not a loopml model package (no {MANIFEST_NAME})",
                field="path",
                hint="give a folder written by loopml.models.save_model",
            )
        return cls.from_yaml(path.read_bytes())

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``loopml-model.yaml`` into ``folder``; its path."""
        path = Path(folder) / MANIFEST_NAME
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path


def hash_package_files(folder: Path) -> dict[str, FileInfo]:
    """BLAKE3 and size of every file under ``folder`` except the manifest itself."""
    from blake3 import blake3

    files: dict[str, FileInfo] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST_NAME:
            continue
        hasher = blake3()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
        files[rel] = FileInfo(hasher.hexdigest(), path.stat().st_size)
    return files
