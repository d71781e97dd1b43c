"""PyTorch packages: safetensors weights + import path + init args, rebuilt on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch  # the dev extra pins the CPU build
import yaml

import loopml
from loopml.errors import CorruptObjectError, InvalidInputError, UnsafeContentError
from loopml.models.package import MANIFEST_NAME

pytest.importorskip("safetensors")


class CancerNet(torch.nn.Module):
    """A small MLP with a BatchNorm (buffers, eval mode) and a dropout (eval mode)."""

    def __init__(self, n_in: int, hidden: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.BatchNorm1d(n_in),
            torch.nn.Linear(n_in, hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, 2),
        )

    def forward(self, x: Any) -> Any:
        return self.layers(x)


class TiedNet(torch.nn.Module):
    """Two layers sharing one weight tensor, built without arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = torch.nn.Linear(4, 4, bias=False)
        self.decode = torch.nn.Linear(4, 4, bias=False)
        self.decode.weight = self.encode.weight

    def forward(self, x: Any) -> Any:
        return self.decode(torch.relu(self.encode(x)))


def _train(X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], **init_args: Any) -> Any:
    torch.manual_seed(0)
    net = CancerNet(X.shape[1], **init_args)
    features = torch.from_numpy(X.astype(np.float32))
    target = torch.from_numpy(y.astype(np.int64))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    net.train()
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(features), target)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return net


def _expected(net: Any, X: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    net.eval()
    with torch.inference_mode():
        out: np.ndarray[Any, Any] = net(torch.from_numpy(X.astype(np.float32))).numpy()
    return out


@pytest.fixture
def cancer_arrays(cancer: tuple[pd.DataFrame, pd.Series]) -> tuple[Any, Any]:
    X, y = cancer
    return X.to_numpy(dtype=np.float32), y.to_numpy()


def test_module_round_trips_with_identical_outputs(
    local_tracking: str, cancer_arrays: tuple[Any, Any], tmp_path: Path
) -> None:
    X, y = cancer_arrays
    net = _train(X, y, hidden=8)
    manifest = loopml.models.save_model(
        net, tmp_path / "pkg", input_example=X[:5], init_args={"n_in": 30, "hidden": 8}
    )
    assert manifest.flavor == "torch"
    assert manifest.pickle is False
    assert manifest.loader["module_class"] == f"{CancerNet.__module__}:CancerNet"
    assert manifest.loader["init_args"] == {"n_in": 30, "hidden": 8}
    assert "model.safetensors" in manifest.files
    assert manifest.signature is not None and manifest.signature.kind == "tensor"
    assert manifest.signature.inputs[0].dtype == "float32"
    assert manifest.signature.inputs[0].shape == (-1, 30)
    assert manifest.signature.outputs[0].shape == (-1, 2)

    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert isinstance(loaded.raw, CancerNet)
    assert loaded.raw.training is False
    assert all(p.device.type == "cpu" for p in loaded.raw.parameters())
    out = loaded.predict(X)
    assert isinstance(out, np.ndarray)
    # Same weights, same CPU kernels, same batch: PyTorch's CPU forward is deterministic.
    np.testing.assert_array_equal(out, _expected(net, X))
    for name, tensor in net.state_dict().items():
        assert torch.equal(loaded.raw.state_dict()[name], tensor), name


def test_dataframe_input_is_cast_to_the_module_dtype(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer  # float64 columns
    net = _train(X.to_numpy(), y.to_numpy())
    loopml.models.save_model(net, tmp_path / "pkg", input_example=X[:5], init_args={"n_in": 30})
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert loaded.signature is not None and loaded.signature.kind == "columns"
    np.testing.assert_array_equal(loaded.predict(X), _expected(net, X.to_numpy()))


def test_tied_weights_and_no_arg_class(local_tracking: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = TiedNet()
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    manifest = loopml.models.save_model(net, tmp_path / "pkg", input_example=x)
    assert manifest.loader["init_args"] == {}
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert loaded.raw.decode.weight is loaded.raw.encode.weight
    np.testing.assert_array_equal(loaded.predict(x), _expected(net, x))


def test_log_model_into_a_run_loads_by_runs_uri(
    local_tracking: str, cancer_arrays: tuple[Any, Any]
) -> None:
    X, y = cancer_arrays
    net = _train(X, y)
    with loopml.start_run():
        info = loopml.models.log_model(net, "net", input_example=X[:3], init_args={"n_in": 30})
    loaded = loopml.models.load(info.uri)
    assert loaded.flavor == "torch"
    np.testing.assert_array_equal(loaded.predict(X), _expected(net, X))


def test_missing_init_args_is_a_clear_error(cancer_arrays: tuple[Any, Any], tmp_path: Path) -> None:
    X, _ = cancer_arrays
    net = CancerNet(30)
    with pytest.raises(InvalidInputError) as info:
        loopml.models.save_model(net, tmp_path / "pkg", input_example=X[:3])
    assert info.value.field == "init_args"
    assert "n_in" in str(info.value)
    assert not (tmp_path / "pkg").exists()


@pytest.mark.parametrize(
    "init_args", [{"n_in": np.zeros(3)}, {"n_in": float("nan")}, ["n_in"]], ids=str
)
def test_init_args_must_be_json(init_args: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        loopml.models.save_model(CancerNet(30), tmp_path / "pkg", init_args=init_args)
    assert info.value.field == "init_args"


def test_classes_that_cannot_be_imported_at_load_are_refused(tmp_path: Path) -> None:
    in_main = type("MainNet", (torch.nn.Module,), {"__module__": "__main__"})

    class LocalNet(torch.nn.Module):
        pass

    for cls, words in ((in_main, "__main__"), (LocalNet, "inside a function")):
        with pytest.raises(InvalidInputError) as info:
            loopml.models.save_model(cls(), tmp_path / "pkg")
        assert words in str(info.value)
        assert info.value.field == "model"
        assert info.value.hint and "module" in info.value.hint


def _edit_loader(folder: Path, **changes: Any) -> None:
    path = folder / MANIFEST_NAME
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    body["loader"].update(changes)
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")


def test_weights_that_do_not_fit_the_class_are_a_clear_error(
    local_tracking: str, cancer_arrays: tuple[Any, Any], tmp_path: Path
) -> None:
    X, y = cancer_arrays
    folder = tmp_path / "pkg"
    loopml.models.save_model(_train(X, y), folder, init_args={"n_in": 30})
    _edit_loader(folder, init_args={"n_in": 30, "hidden": 8})
    with pytest.raises(CorruptObjectError) as info:
        loopml.models.load(str(folder))
    assert info.value.field == "weights_file"
    assert "init_args" in str(info.value)


def test_manifest_naming_a_non_module_class_is_refused(local_tracking: str, tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    loopml.models.save_model(TiedNet(), folder)
    _edit_loader(folder, module_class="subprocess:Popen")
    with pytest.raises(UnsafeContentError) as info:
        loopml.models.load(str(folder))
    assert info.value.field == "module_class"
