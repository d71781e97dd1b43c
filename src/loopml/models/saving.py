"""Saving models: a package folder (:func:`save_model`), or a run artifact that may also
become a registered version (:func:`log_model`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.entities import LineageEdge, now_ms
from loopml.errors import InvalidInputError
from loopml.models.flavors import detect_flavor, get_flavor
from loopml.models.package import MANIFEST_NAME, ModelManifest, hash_package_files
from loopml.models.signature import Signature, infer_signature

if TYPE_CHECKING:
    from loopml.tracking.run import ActiveRun

__all__ = ["ModelInfo", "log_model", "save_model"]

INPUT_EXAMPLE_FRAME = "input_example.json"
INPUT_EXAMPLE_ARRAY = "input_example.npy"
#: Rows of the input example kept in the package.
MAX_EXAMPLE_ROWS = 20


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What :func:`log_model` stored.

    ``uri`` is the run artifact (``runs:/<id>/<name>``); ``model_uri`` the registered version
    (``models:/<name>/<version>``) when ``registered_name`` was given.
    """

    run_id: str
    artifact_path: str
    package_blob: str
    manifest: ModelManifest
    registered_name: str | None = None
    version: int | None = None

    @property
    def uri(self) -> str:
        """The package as a run artifact."""
        return f"runs:/{self.run_id}/{self.artifact_path}"

    @property
    def model_uri(self) -> str | None:
        """The registered version, if any."""
        if self.registered_name is None or self.version is None:
            return None
        return f"models:/{self.registered_name}/{self.version}"

    @property
    def flavor(self) -> str:
        """The package's flavor."""
        return self.manifest.flavor


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    input_example: Any = None,
    signature: Signature | None = None,
    pip_requirements: Iterable[str] = (),
    allow_pickle: bool = False,
    metadata: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    datasets: Iterable[str] = (),
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, str] | None = None,
    **flavor_options: Any,
) -> ModelManifest:
    """Write ``model`` as a package folder at ``path`` (which must not exist, or be empty).

    Args:
        model: The trained model; its flavor is detected from its class unless ``flavor``
            names one (``sklearn``, ``xgboost``, ``lightgbm``, ``torch``, ``onnx``, ``pyfunc``).
        input_example: A few rows of input (DataFrame, dict of columns, or array); stored in
            the package and used to infer the signature.
        signature: The signature, when it should not be inferred.
        pip_requirements: Extra requirements to pin besides the flavor's own packages.
        allow_pickle: Let flavors that can only pickle (``pyfunc`` without code) do so; the
            manifest records it and loading warns.
        flavor_options: Options of the flavor (e.g. ``trusted_types`` for scikit-learn,
            ``init_args`` for torch, ``code_paths`` / ``artifacts`` for pyfunc).

    Returns:
        The manifest written to ``path/loopml-model.yaml``.

    Example:
        >>> clf = LogisticRegression().fit(X, y)                     # doctest: +SKIP
        >>> save_model(clf, "model/", input_example=X[:5])           # doctest: +SKIP
    """
    from loopml._version import __version__

    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInputError(
            f"{folder} exists and is not an empty folder",
            field="path",
            hint="give a new folder; a package is never written over another",
        )
    chosen = get_flavor(flavor) if flavor else detect_flavor(model)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        saved = chosen.save(model, folder, allow_pickle=allow_pickle, options=flavor_options)
        example_file = None
        if input_example is not None:
            example_file = _write_example(folder, input_example)
            if signature is None:
                signature = infer_signature(
                    input_example, _predict_example(chosen, folder, saved, input_example)
                )
        from loopml.models.environment import capture_environment

        environment = capture_environment(chosen.packages, pip_requirements)
        manifest = ModelManifest(
            flavor=chosen.name,
            files=hash_package_files(folder),
            loader=dict(saved.loader),
            flavor_version=saved.flavor_version,
            signature=signature,
            input_example=example_file,
            environment=environment,
            pickle=saved.pickle,
            run_id=run_id,
            datasets=tuple(datasets),
            metrics=dict(metrics or {}),
            params=dict(params or {}),
            created_at=now_ms(),
            loopml_version=__version__,
            metadata=dict(metadata or {}),
        )
        manifest.write(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return manifest


def _write_example(folder: Path, example: Any) -> str:
    import numpy as np

    from loopml.models.signature import _as_array, _as_frame

    frame = _as_frame(example)
    if frame is not None:
        frame.head(MAX_EXAMPLE_ROWS).to_json(
            folder / INPUT_EXAMPLE_FRAME, orient="split", index=False, date_format="iso"
        )
        return INPUT_EXAMPLE_FRAME
    array = _as_array(example)
    if array is None:
        raise InvalidInputError(
            f"cannot store an input example of type {type(example).__name__}",
            field="input_example",
            hint="give a pandas DataFrame, a dict of columns or a numpy array",
        )
    np.save(folder / INPUT_EXAMPLE_ARRAY, array[:MAX_EXAMPLE_ROWS], allow_pickle=False)
    return INPUT_EXAMPLE_ARRAY


def _predict_example(chosen: Any, folder: Path, saved: Any, example: Any) -> Any:
    """Outputs for the signature: predict on the example with the model as it will load."""
    from loopml.models.signature import _as_array, _as_frame

    manifest = ModelManifest(
        flavor=chosen.name, files={}, loader=dict(saved.loader), pickle=saved.pickle
    )
    try:
        predictor = chosen.load(folder, manifest)
        data = _as_frame(example)
        output = predictor.predict(data if data is not None else _as_array(example))
    except Exception as exc:  # noqa: BLE001 - a signature without outputs is still useful
        warnings.warn(
            f"could not run the model on its input example ({exc!r}); the signature has no outputs",
            stacklevel=3,
        )
        return None
    return output


def log_model(
    model: Any,
    name: str = "model",
    *,
    registered_name: str | None = None,
    flavor: str | None = None,
    input_example: Any = None,
    signature: Signature | None = None,
    pip_requirements: Iterable[str] = (),
    allow_pickle: bool = False,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    **flavor_options: Any,
) -> ModelInfo:
    """Save ``model`` as an artifact ``name`` of the active run (one is started and ended
    if none is active) and, with ``registered_name``, register it as a new version.

    The package records the run, its params and metrics so far, and the datasets it read.

    Returns:
        Where it went: ``info.uri`` (``runs:/...``) and ``info.model_uri`` (``models:/...``).

    Example:
        >>> info = loopml.models.log_model(clf, input_example=X[:5],   # doctest: +SKIP
        ...                                registered_name="churn")
        >>> info.model_uri                                              # doctest: +SKIP
        'models:/churn/1'
    """
    from loopml.tracking.fluent import active_run, start_run
    from loopml.tracking.validation import check_artifact_path

    artifact_path = check_artifact_path(name).strip("/")
    if registered_name is not None:
        from loopml.models.registry import check_model_name

        check_model_name(registered_name, field="registered_name")
    options = {
        "flavor": flavor,
        "input_example": input_example,
        "signature": signature,
        "pip_requirements": pip_requirements,
        "allow_pickle": allow_pickle,
        "metadata": metadata,
        **flavor_options,
    }
    run = active_run()
    if run is not None:
        return _log_into(run, model, artifact_path, registered_name, description, tags, options)
    with start_run() as own:
        return _log_into(own, model, artifact_path, registered_name, description, tags, options)


def _log_into(
    run: ActiveRun,
    model: Any,
    artifact_path: str,
    registered_name: str | None,
    description: str | None,
    tags: Mapping[str, str] | None,
    options: dict[str, Any],
) -> ModelInfo:
    from loopml.tracking.artifacts import log_artifacts
    from loopml.tracking.context import get_context

    ctx = get_context()
    run.flush()
    record = ctx.store.get_run(run.id)
    datasets = [
        edge.ref
        for edge in ctx.store.lineage_of_runs([run.id])
        if edge.direction == "input" and edge.ref.startswith("datasets:/")
    ]
    with tempfile.TemporaryDirectory(prefix="loopml-model-") as tmp:
        folder = Path(tmp) / "package"
        manifest = save_model(
            model,
            folder,
            run_id=run.id,
            datasets=datasets,
            metrics=record.metrics,
            params=record.params,
            **options,
        )
        entries = log_artifacts(ctx, run.id, folder, artifact_path)
    package_blob = next(e.blob for e in entries if e.path.endswith(f"/{MANIFEST_NAME}"))
    source = f"runs:/{run.id}/{artifact_path}"
    edges = [LineageEdge(run.id, "output", source, now_ms(), run.project)]
    version = None
    if registered_name is not None:
        from loopml.models.registry import current_actor

        mv = ctx.store.create_model_version(
            registered_name,
            package_blob=package_blob,
            file_blobs=[e.blob for e in entries],
            flavor=manifest.flavor,
            source=source,
            run_id=run.id,
            artifact_path=artifact_path,
            description=description,
            tags=tags,
            actor=current_actor(),
            project=run.project,
        )
        version = mv.version
        edges.append(LineageEdge(run.id, "output", mv.uri, now_ms(), run.project))
    ctx.store.add_lineage(edges)
    return ModelInfo(run.id, artifact_path, package_blob, manifest, registered_name, version)
