"""ONNX models, run with onnxruntime on the CPU.

What is stored: ``model.onnx`` (from an ``onnx.ModelProto``, the bytes of one, or the path of a
``.onnx`` file), and in the manifest the graph's input and output names, its IR version and
opsets. No pickle. At load an ``onnxruntime.InferenceSession`` (``CPUExecutionProvider``) runs
it: a graph with one input gets the whole table or array (cast to the input's element type); a
graph with several inputs gets one column each, by name. ``predict`` returns the first output;
``predict_proba`` the probabilities output when there is one (skl2onnx classifiers: convert
with ``options={"zipmap": False}`` to get a plain array).

Example:
    >>> onx = skl2onnx.to_onnx(clf, X[:1].astype("float32"),            # doctest: +SKIP
    ...                        options={"zipmap": False})
    >>> loopml.models.save_model(onx, "pkg",                            # doctest: +SKIP
    ...                          input_example=X[:5].astype("float32"))
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loopml.errors import InvalidInputError, MissingExtraError, SignatureError
from loopml.models.flavors.base import Flavor, Predictor, SavedFlavor, class_path
from loopml.models.package import ModelManifest

__all__ = ["FLAVOR", "OnnxFlavor"]

MODEL_FILE = "model.onnx"
MODEL_PROTO = "onnx.onnx_ml_pb2.ModelProto"
#: Output names converters give class probabilities (skl2onnx, onnxmltools).
PROBA_OUTPUTS = ("probabilities", "output_probability", "probability")

#: onnxruntime element types -> numpy dtype names.
_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise MissingExtraError("the ONNX flavor", "onnx", "onnx") from exc
    return onnx


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingExtraError("the ONNX flavor", "onnx", "onnxruntime") from exc
    return onnxruntime


def _is_onnx_path(model: object) -> bool:
    return isinstance(model, str | os.PathLike) and str(model).lower().endswith(".onnx")


class OnnxPredictor(Predictor):
    """An onnxruntime session fed from a DataFrame or an array."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._inputs = list(session.get_inputs())
        self._outputs = [o.name for o in session.get_outputs()]
        self._proba = next((name for name in PROBA_OUTPUTS if name in self._outputs), None)

    @staticmethod
    def _cast(array: Any, node: Any) -> Any:
        import numpy as np

        dtype = _ORT_TYPES.get(node.type)
        if dtype is not None and array.dtype != np.dtype(dtype):
            array = array.astype(dtype)
        if len(node.shape) == 2 and array.ndim == 1:
            array = array.reshape(-1, 1)
        return array

    def _feed(self, data: Any) -> dict[str, Any]:
        import numpy as np

        if len(self._inputs) == 1:
            node = self._inputs[0]
            array = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
            return {node.name: self._cast(array, node)}
        if not hasattr(data, "columns"):
            raise SignatureError(
                f"the ONNX graph takes {len(self._inputs)} inputs "
                f"({[n.name for n in self._inputs]}); pass a table with those columns",
                field="input",
                hint="pass a pandas DataFrame with one column per graph input",
            )
        missing = [n.name for n in self._inputs if n.name not in data.columns]
        if missing:
            raise SignatureError(
                f"missing column {missing[0]!r} for the ONNX graph input of that name",
                field=missing[0],
                hint=f"the graph takes the columns {[n.name for n in self._inputs]}",
            )
        return {n.name: self._cast(data[n.name].to_numpy(), n) for n in self._inputs}

    def _run(self, output: str, data: Any) -> Any:
        result = self._session.run([output], self._feed(data))[0]
        if isinstance(result, list) and result and isinstance(result[0], dict):
            import numpy as np  # a ZipMap output: one {class: probability} per row

            keys = sorted(result[0])
            return np.asarray([[row[k] for k in keys] for row in result])
        return result

    def predict(self, data: Any) -> Any:
        return self._run(self._outputs[0], data)

    def predict_proba(self, data: Any) -> Any:
        if self._proba is None:
            raise NotImplementedError
        return self._run(self._proba, data)

    @property
    def raw(self) -> Any:
        return self._session


class OnnxFlavor(Flavor):
    """ONNX graphs through onnxruntime."""

    name = "onnx"
    packages = ("onnx", "onnxruntime", "numpy")
    extra = "onnx"

    def detect(self, model: object) -> bool:
        return MODEL_PROTO in class_path(model) or _is_onnx_path(model)

    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        onnx = _onnx()
        if options:
            raise InvalidInputError(
                f"the onnx flavor takes no options, got {sorted(options)}",
                field=sorted(options)[0],
            )
        path = folder / MODEL_FILE
        if isinstance(model, onnx.ModelProto):
            proto = model
            path.write_bytes(model.SerializeToString())
        elif isinstance(model, bytes | bytearray):
            proto = self._parse(onnx, bytes(model), "the bytes given")
            path.write_bytes(bytes(model))
        elif isinstance(model, str | os.PathLike):
            source = Path(model)
            if not source.is_file():
                raise InvalidInputError(f"no ONNX file at {source}", field="model")
            proto = self._parse(onnx, source.read_bytes(), str(source))
            shutil.copyfile(source, path)
        else:
            raise InvalidInputError(
                f"not an ONNX model: {type(model).__qualname__}",
                field="model",
                hint="give an onnx.ModelProto, its serialized bytes, or the path of a .onnx file",
            )
        initialized = {i.name for i in proto.graph.initializer}
        return SavedFlavor(
            loader={
                "model_file": MODEL_FILE,
                "inputs": [i.name for i in proto.graph.input if i.name not in initialized],
                "outputs": [o.name for o in proto.graph.output],
                "ir_version": int(proto.ir_version),
                "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in proto.opset_import},
            },
            flavor_version=str(onnx.__version__),
        )

    @staticmethod
    def _parse(onnx: Any, data: bytes, what: str) -> Any:
        try:
            proto = onnx.load_model_from_string(data)
        except Exception as exc:  # protobuf raises several kinds
            raise InvalidInputError(f"{what} is not an ONNX model: {exc}", field="model") from exc
        if not proto.graph.output:
            raise InvalidInputError(
                f"{what} is not an ONNX model (no graph outputs)", field="model"
            )
        return proto

    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        ort = _onnxruntime()
        path = folder / str(manifest.loader.get("model_file", MODEL_FILE))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return OnnxPredictor(session)


FLAVOR = OnnxFlavor()
