"""ONNX packages: real scikit-learn models converted with skl2onnx, run with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import InvalidInputError, SignatureError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")


def _session(proto: Any) -> Any:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture
def iris32() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X.astype(np.float32), y


def test_classifier_round_trips_with_identical_outputs(
    local_tracking: str, iris32: tuple[Any, Any], tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = iris32
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    proto = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False})
    manifest = loopml.models.save_model(proto, tmp_path / "pkg", input_example=X[:5])

    assert manifest.flavor == "onnx"
    assert manifest.pickle is False
    assert manifest.loader["outputs"] == ["label", "probabilities"]
    assert manifest.loader["inputs"] == ["X"]
    assert "model.onnx" in manifest.files
    assert manifest.signature is not None and manifest.signature.kind == "tensor"
    assert manifest.signature.outputs[0].dtype == "int64"

    loaded = loopml.models.load(str(tmp_path / "pkg"))
    label, proba = _session(proto).run(None, {"X": X})
    np.testing.assert_array_equal(loaded.predict(X), label)
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    # Against scikit-learn itself: the graph computes in float32, scikit-learn in float64,
    # so probabilities agree to float32 precision only.
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_zipmap_probabilities_become_an_array(
    local_tracking: str, iris32: tuple[Any, Any], tmp_path: Path
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = iris32
    clf = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    proto = skl2onnx.to_onnx(clf, X[:1])  # zipmap on: a list of {class: probability}
    loopml.models.save_model(proto, tmp_path / "pkg", input_example=X[:5])
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    plain = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False})
    (proba,) = _session(plain).run(["probabilities"], {"X": X})
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


def test_regressor_saved_from_a_file_takes_a_table(local_tracking: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    proto = skl2onnx.to_onnx(model, X[:1].to_numpy(dtype=np.float32))
    file = tmp_path / "forest.onnx"
    file.write_bytes(proto.SerializeToString())

    manifest = loopml.models.save_model(str(file), tmp_path / "pkg", input_example=X[:5])
    assert manifest.flavor == "onnx"  # a path ending in .onnx is detected
    assert manifest.signature is not None and manifest.signature.kind == "columns"
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    (expected,) = _session(proto).run(None, {"X": X.to_numpy(dtype=np.float32)})
    np.testing.assert_array_equal(loaded.predict(X), expected)
    with pytest.raises(InvalidInputError):
        loaded.predict_proba(X)


def _two_input_graph() -> Any:
    """y = a * w + b: a graph whose inputs are named columns."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["a", "w"], ["scaled"]),
            helper.make_node("Add", ["scaled", "b"], ["y"]),
        ],
        "scale_add",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 1]),
            helper.make_tensor_value_info("b", TensorProto.DOUBLE, [None, 1]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None, 1])],
        [helper.make_tensor("w", TensorProto.FLOAT, [1], [2.5])],
    )
    # Cast a*w to double before adding b.
    graph.node.insert(1, helper.make_node("Cast", ["scaled"], ["scaled64"], to=TensorProto.DOUBLE))
    graph.node[2].input[0] = "scaled64"
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_several_graph_inputs_are_fed_by_column_name(local_tracking: str, tmp_path: Path) -> None:
    proto = _two_input_graph()
    onnx.checker.check_model(proto)
    frame = pd.DataFrame({"b": [1.0, 2.0, 3.0], "a": [1.0, 2.0, 4.0]})
    loopml.models.save_model(
        proto.SerializeToString(), tmp_path / "pkg", flavor="onnx", input_example=frame
    )
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert loaded.manifest.loader["inputs"] == ["a", "b"]
    np.testing.assert_array_equal(loaded.predict(frame), [[3.5], [7.0], [13.0]])
    with pytest.raises(SignatureError):
        loaded.predict(frame.drop(columns="a"))


def test_bytes_that_are_not_onnx_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not an ONNX model"):
        loopml.models.save_model(b"\x00garbage", tmp_path / "pkg", flavor="onnx")
    assert not (tmp_path / "pkg").exists()
