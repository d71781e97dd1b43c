"""Gate metrics are scikit-learn's metrics; task detection; probability alignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC

from loopml.errors import InvalidInputError
from loopml.gates.metrics import (
    ModelOutput,
    align,
    collect_outputs,
    compute_metrics,
    detect_task,
    input_columns,
    make_target,
    resolve_task,
)


def _score(model: object, frame: pd.DataFrame, target: str) -> dict[str, float | None]:
    X = frame.drop(columns=[target])
    task = detect_task(frame[target])
    output = collect_outputs(model, X, task)  # type: ignore[arg-type]
    tgt = make_target(task, frame[target], [output])
    return compute_metrics(tgt, align(output, tgt))


def test_binary_metrics_equal_sklearn(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame.drop(columns=["label"]), binary_frame["label"]
    clf = LogisticRegression().fit(X.iloc[:300], y.iloc[:300])
    pred, proba = clf.predict(X), clf.predict_proba(X)
    got = _score(clf, binary_frame, "label")
    assert got == pytest.approx(
        {
            "accuracy": skm.accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred),
            "recall": skm.recall_score(y, pred),
            "f1": skm.f1_score(y, pred),
            "roc_auc": skm.roc_auc_score(y, proba[:, 1]),
            "log_loss": skm.log_loss(y, proba),
        }
    )


def test_multiclass_metrics_equal_sklearn_macro(multiclass_frame: pd.DataFrame) -> None:
    X, y = multiclass_frame.drop(columns=["label"]), multiclass_frame["label"]
    clf = LogisticRegression(max_iter=500).fit(X.iloc[:300], y.iloc[:300])
    pred, proba = clf.predict(X), clf.predict_proba(X)
    got = _score(clf, multiclass_frame, "label")
    assert got == pytest.approx(
        {
            "accuracy": skm.accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred, average="macro"),
            "recall": skm.recall_score(y, pred, average="macro"),
            "f1": skm.f1_score(y, pred, average="macro"),
            "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr"),
            "log_loss": skm.log_loss(y, proba),
        }
    )


def test_regression_metrics_equal_sklearn(regression_frame: pd.DataFrame) -> None:
    X, y = regression_frame.drop(columns=["price"]), regression_frame["price"]
    reg = LinearRegression().fit(X.iloc[:200], y.iloc[:200])
    pred = reg.predict(X)
    assert _score(reg, regression_frame, "price") == pytest.approx(
        {
            "mae": skm.mean_absolute_error(y, pred),
            "rmse": skm.root_mean_squared_error(y, pred),
            "r2": skm.r2_score(y, pred),
        }
    )


def test_probability_metrics_only_with_predict_proba(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame.drop(columns=["label"]), binary_frame["label"]
    svc = SVC().fit(X, y)  # probability=False: predict_proba raises AttributeError
    got = _score(svc, binary_frame, "label")
    assert got["roc_auc"] is None
    assert got["log_loss"] is None
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, svc.predict(X)))
    assert collect_outputs(svc, X, "classification").note == "the model has no predict_proba"


def test_string_binary_labels_use_the_greater_class_as_positive() -> None:
    y = pd.Series(["no", "yes", "yes", "no", "yes"])
    pred = np.array(["no", "yes", "no", "no", "yes"])
    target = make_target("classification", y, [ModelOutput(pred)])
    assert target.positive == "yes"
    got = compute_metrics(target, align(ModelOutput(pred), target))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label="yes"))


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (pd.Series([0, 1, 1, 0]), "classification"),
        (pd.Series([True, False]), "classification"),
        (pd.Series(["a", "b"]), "classification"),
        (pd.Series(["a", "b"], dtype="category"), "classification"),
        (pd.Series([0.0, 1.0, 1.0]), "classification"),
        (pd.Series([0.5, 1.25, 3.0]), "regression"),
        (pd.Series(np.arange(100)), "regression"),
    ],
)
def test_detect_task(values: pd.Series, task: str) -> None:
    assert detect_task(values) == task


def test_resolve_task_validates() -> None:
    assert resolve_task("regression", pd.Series([0, 1])) == "regression"
    with pytest.raises(InvalidInputError) as info:
        resolve_task("ranking", pd.Series([0, 1]))
    assert info.value.field == "task"


def test_proba_columns_are_aligned_to_the_union_of_classes() -> None:
    """A champion trained without class 2 still lines up with the challenger's columns."""
    y = pd.Series([0, 1, 2, 2])
    old = ModelOutput(np.array([0, 1, 1, 1]), np.array([[0.9, 0.1]] * 4), np.array([0, 1]))
    new = ModelOutput(np.array([0, 1, 2, 2]), np.full((4, 3), 1 / 3), np.array([0, 1, 2]))
    target = make_target("classification", y, [new, old])
    assert target.classes.tolist() == [0, 1, 2]
    aligned = align(old, target)
    assert aligned.proba is not None
    assert aligned.proba[0].tolist() == [0.9, 0.1, 0.0]


def test_predictions_must_be_one_per_row(binary_frame: pd.DataFrame) -> None:
    class Bad:
        def predict(self, X: pd.DataFrame) -> np.ndarray:
            return np.zeros((len(X), 3))

    with pytest.raises(InvalidInputError, match="one value per row"):
        collect_outputs(Bad(), binary_frame, "classification")


def test_undefined_metrics_are_none() -> None:
    y = pd.Series([1, 1, 1])
    out = ModelOutput(np.array([1, 1, 0]), np.array([[0.1, 0.9]] * 3), np.array([0, 1]))
    target = make_target("classification", y, [out])
    got = compute_metrics(target, align(out, target))
    assert got["roc_auc"] is None  # one class present: AUC is undefined
    assert got["accuracy"] == pytest.approx(2 / 3)


def test_only_the_models_columns_are_passed(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame.drop(columns=["label"]), binary_frame["label"]
    clf = LogisticRegression().fit(X, y)
    with_slice = X.assign(region="eu")  # a slice column the model never saw
    assert list(input_columns(clf, with_slice).columns) == list(X.columns)
    out = collect_outputs(clf, with_slice, "classification")
    assert (out.values == clf.predict(X)).all()

    class NoNames:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return np.zeros(len(frame))

    assert input_columns(NoNames(), with_slice) is with_slice
