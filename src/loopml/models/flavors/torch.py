"""PyTorch modules: safetensors weights, the module's import path and its init args.

What is stored: ``model.safetensors`` (the ``state_dict``: parameters and persistent buffers,
tied weights once), and in the manifest the class as ``module:QualName`` and the JSON-able
``init_args`` given at save (``init_args={...}``; without them the class must build with no
arguments). No pickle: at load the class is imported (it must be importable there, e.g.
installed or on ``sys.path``), built with ``init_args``, filled from the weights on the CPU and
put in ``eval()`` mode. ``predict`` runs under ``torch.inference_mode()`` and returns numpy.

Inputs become tensors: floating input is cast to the module's floating dtype (float32 for a
default module), integer input (token ids) is passed as is.

Example:
    >>> net = MyNet(hidden=32)                                          # doctest: +SKIP
    >>> loopml.models.save_model(net, "pkg", init_args={"hidden": 32},  # doctest: +SKIP
    ...                          input_example=X[:5].astype("float32"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loopml.errors import (
    CorruptObjectError,
    InvalidInputError,
    MissingExtraError,
    UnsafeContentError,
)
from loopml.models.flavors.base import Flavor, Predictor, SavedFlavor, class_path
from loopml.models.package import ModelManifest

__all__ = ["FLAVOR", "TorchFlavor"]

WEIGHTS_FILE = "model.safetensors"
MODULE_BASE = "torch.nn.modules.module.Module"


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("the PyTorch flavor", "torch", "torch") from exc
    return torch


def _safetensors_torch() -> Any:
    try:
        import safetensors.torch
    except ImportError as exc:
        raise MissingExtraError("the PyTorch flavor", "torch", "safetensors") from exc
    return safetensors.torch


def _to_numpy(value: Any) -> Any:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, Mapping):
        return {key: _to_numpy(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_to_numpy(item) for item in value]
    return value


class TorchPredictor(Predictor):
    """A module in eval mode on the CPU."""

    def __init__(self, module: Any) -> None:
        torch = _torch()
        self._module = module
        self._float_dtype = next(
            (p.dtype for p in module.parameters() if p.dtype.is_floating_point),
            torch.get_default_dtype(),
        )

    def _tensor(self, data: Any) -> Any:
        import numpy as np

        torch = _torch()
        array = np.ascontiguousarray(data.to_numpy() if hasattr(data, "to_numpy") else data)
        if not array.flags.writeable:  # pandas hands out read-only views; torch wants its own
            array = array.copy()
        tensor = torch.from_numpy(array)
        if tensor.dtype.is_floating_point:
            tensor = tensor.to(self._float_dtype)
        return tensor

    def predict(self, data: Any) -> Any:
        torch = _torch()
        with torch.inference_mode():
            return _to_numpy(self._module(self._tensor(data)))

    @property
    def raw(self) -> Any:
        return self._module


class TorchFlavor(Flavor):
    """``torch.nn.Module`` through safetensors and an import path."""

    name = "torch"
    packages = ("torch", "safetensors", "numpy")
    extra = "torch"

    def detect(self, model: object) -> bool:
        return MODULE_BASE in class_path(model)

    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        from loopml.models.flavors._imports import (
            check_constructible,
            import_path_of,
            json_init_args,
        )

        torch = _torch()
        st = _safetensors_torch()
        unknown = sorted(set(options) - {"init_args"})
        if unknown:
            raise InvalidInputError(
                f"unknown torch options: {unknown}",
                field=unknown[0],
                hint="the torch flavor takes init_args",
            )
        if not isinstance(model, torch.nn.Module):
            raise InvalidInputError(
                f"not a torch.nn.Module: {type(model).__qualname__}", field="model"
            )
        cls = type(model)
        try:
            import_path = import_path_of(cls)
        except InvalidInputError as exc:
            raise InvalidInputError(
                exc.message,
                field="model",
                hint=f"{exc.hint}; the torch flavor stores the weights and rebuilds the module "
                "from its class at load, so the class must be importable there",
            ) from exc
        given = options.get("init_args") is not None
        init_args = json_init_args(options.get("init_args"))
        check_constructible(cls, init_args, given=given)
        st.save_model(model, str(folder / WEIGHTS_FILE), force_contiguous=True)
        return SavedFlavor(
            loader={
                "weights_file": WEIGHTS_FILE,
                "module_class": import_path,
                "init_args": init_args,
            },
            flavor_version=str(torch.__version__).split("+", 1)[0],
        )

    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        from loopml.models.flavors._imports import import_object

        torch = _torch()
        st = _safetensors_torch()
        loader = manifest.loader
        path = str(loader.get("module_class", ""))
        cls = import_object(path)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            raise UnsafeContentError(
                f"{path} is not a torch.nn.Module class; refusing to build it",
                field="module_class",
                hint="the manifest was not written by loopml, or was tampered with",
            )
        module = cls(**dict(loader.get("init_args") or {}))
        weights = folder / str(loader.get("weights_file", WEIGHTS_FILE))
        try:
            st.load_model(module, str(weights), strict=True, device="cpu")
        except RuntimeError as exc:
            raise CorruptObjectError(
                f"the weights in {weights.name} do not fit {path}: {exc}",
                field="weights_file",
                hint="the class changed since the model was saved, or init_args differ",
            ) from exc
        module.to("cpu")
        module.eval()
        return TorchPredictor(module)


FLAVOR = TorchFlavor()
