"""Models as loopml model packages: every package file is a blob, the manifest the ref."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.pipelines.materializers.base import MISSING, Materializer, class_paths, type_name
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = ["ModelMaterializer", "is_model_class"]

#: Class paths of the models :mod:`loopml.models` flavors save (a hint is judged by these
#: before any instance exists; a value by the flavors' own detection).
MODEL_BASES: tuple[str, ...] = (
    "sklearn.base.BaseEstimator",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBModel",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMModel",
    "torch.nn.modules.module.Module",
    "onnx.onnx_ml_pb2.ModelProto",
    "loopml.models.flavors.pyfunc.PythonModel",
)


def is_model_class(cls: Any) -> bool:
    """True when instances of ``cls`` are models a loopml flavor saves."""
    return any(path in MODEL_BASES for path in class_paths(cls))


class ModelMaterializer(Materializer):
    """A model as a loopml model package (:func:`loopml.models.save_model`).

    ``blob`` is the package manifest (``loopml-model.yaml``); ``content_hash`` hashes the
    flavor and the package files (not the manifest, which records when it was written).
    Loading returns the model object itself (``LoadedModel.raw``).
    """

    name: ClassVar[str] = "model"
    version: ClassVar[int] = 1

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        if value is not MISSING:
            if not is_model_class(type(value)):
                return False
            from loopml.models.flavors import DETECTION_ORDER, get_flavor

            return any(get_flavor(name).detect(value) for name in DETECTION_ORDER)
        return is_model_class(type_hint)

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        self.check_value(value)
        from loopml.models.package import MANIFEST_NAME
        from loopml.models.saving import save_model
        from loopml.pipelines.materializers.json_ import canonical_json

        with tempfile.TemporaryDirectory(prefix="loopml-model-") as temp:
            folder = Path(temp) / "package"
            manifest = save_model(value, folder)
            rels = sorted(manifest.files)
            ctx.objects.put_files([folder / rel for rel in rels])
            info = ctx.objects.put_file(folder / MANIFEST_NAME)
        body = {
            "flavor": manifest.flavor,
            "files": {rel: manifest.files[rel].blake3 for rel in rels},
        }
        from blake3 import blake3

        return ArtifactRef(
            materializer=self.name,
            materializer_version=self.version,
            blob=info.hex,
            content_hash=str(blake3(canonical_json(body)).hexdigest()),
            type_name=type_name(value),
            size=info.size + sum(manifest.files[rel].size for rel in rels),
            blobs=tuple(sorted({manifest.files[rel].blake3 for rel in rels})),
        )

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        from loopml.models.loading import load
        from loopml.models.package import ModelManifest
        from loopml.models.uris import PackageLocation, materialize

        self.check_ref(ref)
        manifest = ModelManifest.from_yaml(ctx.objects.get_bytes(ref.blob))
        location = PackageLocation(f"blake3:{ref.blob}", package_blob=ref.blob)
        folder = materialize(ctx, location, manifest)
        return load(str(folder)).raw
