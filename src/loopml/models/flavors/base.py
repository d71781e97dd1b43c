"""What a flavor is: how one kind of model is saved to files and loaded back, without pickle.

A flavor module defines one :class:`Flavor` subclass and registers it in
:data:`loopml.models.flavors.FLAVOR_MODULES`. Detection must be cheap: it looks at the model's
class and module names and imports nothing heavy.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from loopml.models.package import ModelManifest

__all__ = ["Flavor", "Predictor", "SavedFlavor", "class_path", "module_root"]


@dataclass(frozen=True, slots=True)
class SavedFlavor:
    """What :meth:`Flavor.save` tells the manifest.

    ``loader`` holds what :meth:`Flavor.load` needs to read the files back (file names,
    import paths, init args): JSON/YAML-able values only.
    """

    loader: Mapping[str, Any] = field(default_factory=dict)
    flavor_version: str | None = None
    pickle: bool = False


class Predictor(abc.ABC):
    """A loaded model, as the flavor sees it: ``predict`` on input the signature has already
    checked and cast (a DataFrame for ``columns`` signatures, an array for ``tensor``)."""

    @abc.abstractmethod
    def predict(self, data: Any) -> Any:
        """Predictions for ``data``."""

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities, for classifiers that have them.

        Raises:
            NotImplementedError: the model has none (the caller turns it into a clear error).
        """
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def raw(self) -> Any:
        """The underlying model object."""


class Flavor(abc.ABC):
    """How one kind of model is saved and loaded."""

    #: The flavor's name in manifests and ``flavor=`` arguments.
    name: ClassVar[str]
    #: Distributions whose exact versions the package's environment pins.
    packages: ClassVar[tuple[str, ...]] = ()
    #: The ``pip install 'loopml[extra]'`` that brings them.
    extra: ClassVar[str] = ""

    @abc.abstractmethod
    def detect(self, model: object) -> bool:
        """True when ``model`` is this flavor's kind (cheap: names only, no heavy imports)."""

    @abc.abstractmethod
    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        """Write ``model`` into ``folder`` (empty, created by the caller)."""

    @abc.abstractmethod
    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        """Read the model back from a package folder."""


def class_path(obj: object) -> list[str]:
    """``module.QualName`` of every class in ``type(obj)``'s MRO (for detection)."""
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(obj).__mro__]


def module_root(obj: object) -> str:
    """The top-level package the object's class comes from (``sklearn``, ``torch`` ...)."""
    return type(obj).__module__.split(".", 1)[0]
