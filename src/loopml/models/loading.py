"""Loading models by URI behind one interface: ``predict(DataFrame)`` with the signature
enforced."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInputError
from loopml.models.flavors import get_flavor
from loopml.models.flavors.base import Predictor
from loopml.models.package import ModelManifest
from loopml.models.signature import Signature, enforce_signature
from loopml.models.uris import locate, materialize, read_location_manifest

if TYPE_CHECKING:
    from loopml.entities.models import ModelVersion

__all__ = ["LoadedModel", "PickleLoadWarning", "load", "manifest_of"]


class PickleLoadWarning(UserWarning):
    """A model was loaded through pickle (saved with ``allow_pickle=True``)."""


class LoadedModel:
    """A model ready to predict, whatever its flavor.

    ``predict`` checks the input against the signature first: columns are matched by name and
    cast only when the cast is lossless; anything else raises
    :class:`~loopml.errors.SignatureError` naming the column.
    """

    def __init__(
        self,
        predictor: Predictor,
        manifest: ModelManifest,
        *,
        uri: str,
        path: Path,
        model_version: ModelVersion | None = None,
    ) -> None:
        self._predictor = predictor
        self.manifest = manifest
        self.uri = uri
        self.path = path
        self.model_version = model_version

    def __repr__(self) -> str:
        return f"<LoadedModel {self.uri} flavor={self.flavor}>"

    @property
    def flavor(self) -> str:
        """The package's flavor."""
        return self.manifest.flavor

    @property
    def signature(self) -> Signature | None:
        """What the model takes and returns, if recorded."""
        return self.manifest.signature

    @property
    def raw(self) -> Any:
        """The underlying model object (an estimator, booster, module, session ...)."""
        return self._predictor.raw

    def _checked(self, data: Any) -> Any:
        if self.manifest.signature is None:
            return data
        return enforce_signature(self.manifest.signature, data)

    def predict(self, data: Any) -> Any:
        """Predictions for ``data`` (a DataFrame, dict of columns, or array).

        Raises:
            SignatureError: ``data`` does not fit the signature.
        """
        return self._predictor.predict(self._checked(data))

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities, for classifiers that have them.

        Raises:
            InvalidInputError: the model has no probabilities (``field="predict_proba"``).
            SignatureError: ``data`` does not fit the signature.
        """
        checked = self._checked(data)
        try:
            return self._predictor.predict_proba(checked)
        except NotImplementedError:
            raise InvalidInputError(
                f"the {self.flavor} model {self.uri} has no predict_proba",
                field="predict_proba",
                uri=self.uri,
                hint="use predict(), or metrics that need no probabilities",
            ) from None

    def input_example(self) -> Any:
        """The input example stored with the model, or None."""
        name = self.manifest.input_example
        if not name:
            return None
        file = self.path / name
        if name.endswith(".npy"):
            import numpy as np

            return np.load(file, allow_pickle=False)
        import pandas as pd

        frame = pd.read_json(file, orient="split")
        if self.manifest.signature is not None and self.manifest.signature.kind == "columns":
            return enforce_signature(self.manifest.signature, frame)
        return frame


def manifest_of(uri: str) -> ModelManifest:
    """The manifest of the package ``uri`` names (``models:/``, ``runs:/`` or a folder),
    without loading the model."""
    from loopml.tracking.context import get_context

    ctx = get_context()
    return read_location_manifest(ctx, locate(ctx, uri))


def load(uri: str) -> LoadedModel:
    """Load the model ``uri`` names.

    Args:
        uri: ``models:/<name>/<version>``, ``models:/<name>@<alias>`` (``@latest`` = the
            highest version), ``runs:/<run_id>/<path>``, or a package folder.

    Files are materialized once into a local cache, each verified against its hash. Loading
    warns when the interpreter's packages differ by a major version from the model's
    environment, and when the package uses pickle.

    Raises:
        InvalidInputError: a malformed URI. NotFoundError: nothing there.
        UnsafeContentError: the files would run untrusted code.

    Example:
        >>> model = loopml.models.load("models:/churn@champion")   # doctest: +SKIP
        >>> model.predict(df)                                        # doctest: +SKIP
    """
    from loopml.tracking.context import get_context

    ctx = get_context()
    location = locate(ctx, uri)
    manifest = read_location_manifest(ctx, location)
    flavor = get_flavor(manifest.flavor)
    folder = materialize(ctx, location, manifest)
    if manifest.environment is not None:
        from loopml.models.environment import warn_on_mismatch

        warn_on_mismatch(manifest.environment, uri=uri, stacklevel=2)
    if manifest.pickle:
        warnings.warn(
            f"{uri} was saved with allow_pickle=True: loading it runs code from the package; "
            "load it only if you trust where it came from",
            PickleLoadWarning,
            stacklevel=2,
        )
    predictor = flavor.load(folder, manifest)
    return LoadedModel(
        predictor, manifest, uri=uri, path=folder, model_version=location.model_version
    )
