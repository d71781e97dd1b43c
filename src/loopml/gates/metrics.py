"""The metrics a gate compares: classification and regression, computed by scikit-learn.

Classification: accuracy, precision, recall, F1 (binary for two classes, macro-averaged
otherwise), ROC AUC (one-vs-rest macro for more than two classes) and log loss; the last two
only for models with ``predict_proba``. Regression: MAE, RMSE and R².

A model's raw outputs become :class:`Predictions` aligned to one :class:`Target` (the true
values and the set of classes both models and the data know), so that champion and
challenger are scored on exactly the same terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from loopml.errors import InvalidInputError, SignatureError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALL_METRICS",
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "PROBABILITY_METRICS",
    "REGRESSION_METRICS",
    "TASKS",
    "ModelOutput",
    "Predictions",
    "Predictor",
    "Target",
    "Task",
    "align",
    "collect_outputs",
    "compute_metrics",
    "detect_task",
    "higher_is_better",
    "input_columns",
    "make_target",
    "metric_names",
    "resolve_task",
]

Task = Literal["classification", "regression"]
TASKS: tuple[str, ...] = ("auto", "classification", "regression")
CLASSIFICATION_METRICS: tuple[str, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
)
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2")
ALL_METRICS: tuple[str, ...] = CLASSIFICATION_METRICS + REGRESSION_METRICS
PROBABILITY_METRICS = frozenset({"roc_auc", "log_loss"})
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})
#: integer targets with at most this many distinct values are treated as class labels
MAX_CLASSES = 20


class Predictor(Protocol):
    """What the gate needs of a model: ``predict`` (and, optionally, ``predict_proba``)."""

    def predict(self, X: pd.DataFrame, /) -> Any:  # noqa: N803 - scikit-learn's name
        """Predicted labels or values, one per row."""


def metric_names(task: Task) -> tuple[str, ...]:
    """The metrics computed for ``task``."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def higher_is_better(metric: str) -> bool:
    """False for losses and errors (log_loss, mae, rmse), True for everything else."""
    return metric not in LOWER_IS_BETTER


def detect_task(y: pd.Series) -> Task:
    """Classification for non-numeric targets, booleans, and integer (or integral float)
    targets with at most 20 distinct values; regression otherwise."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.dropna().to_numpy()
    if values.size == 0:
        return "regression"
    integral = pd.api.types.is_integer_dtype(y) or bool(np.all(np.mod(values, 1) == 0))
    if integral and np.unique(values).size <= MAX_CLASSES:
        return "classification"
    return "regression"


def resolve_task(task: str, y: pd.Series) -> Task:
    """``task`` checked (auto, classification or regression); ``auto`` detected from ``y``."""
    if task not in TASKS:
        raise InvalidInputError(
            f"unknown task {task!r}", field="task", hint="use auto, classification or regression"
        )
    if task == "auto":
        return detect_task(y)
    return "classification" if task == "classification" else "regression"


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """What a model returned: predictions, probabilities (if any) and its classes (if known)."""

    values: np.ndarray
    proba: np.ndarray | None = None
    classes: np.ndarray | None = None
    note: str | None = None


def _as_vector(value: Any, what: str) -> np.ndarray:
    array = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidInputError(
            f"the model's {what} returned shape {array.shape}; the gate needs one value per row",
            field="model",
        )
    return array


def _model_classes(model: Any) -> np.ndarray | None:
    for owner in (model, getattr(model, "raw", None)):
        classes = getattr(owner, "classes_", None)
        if classes is not None:
            return np.asarray(classes)
    return None


def input_columns(model: Any, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
    """The columns of ``X`` the model takes, when it says which: the input names of its
    column signature, else scikit-learn's ``feature_names_in_``; otherwise all of them.

    So a slice column (``region``) that is not a feature does not break ``predict``.
    """
    names: list[str] | None = None
    signature = getattr(model, "signature", None)
    if signature is not None and getattr(signature, "kind", None) == "columns":
        names = list(signature.input_names)
    else:
        for owner in (model, getattr(model, "raw", None)):
            features = getattr(owner, "feature_names_in_", None)
            if features is not None:
                names = [str(f) for f in features]
                break
    if names and all(n in X.columns for n in names):
        return X[names]
    return X


def collect_outputs(model: Predictor, X: pd.DataFrame, task: Task) -> ModelOutput:  # noqa: N803
    """Run ``model`` on ``X``: predictions, and for classification ``predict_proba`` when
    the model has one (a model whose ``predict_proba`` raises InvalidInputError has none).

    Only the columns the model takes are passed (see :func:`input_columns`).
    """
    X = input_columns(model, X)  # noqa: N806
    values = _as_vector(model.predict(X), "predict")
    if len(values) != len(X):
        raise InvalidInputError(
            f"the model returned {len(values)} predictions for {len(X)} rows", field="model"
        )
    if task == "regression":
        return ModelOutput(values=values.astype(float))
    predict_proba = getattr(model, "predict_proba", None)
    if predict_proba is None:
        return ModelOutput(values=values, note="the model has no predict_proba")
    try:
        proba = np.asarray(predict_proba(X), dtype=float)
    except SignatureError:
        raise
    except (InvalidInputError, AttributeError, NotImplementedError) as exc:
        return ModelOutput(values=values, note=f"predict_proba unavailable: {exc}")
    return ModelOutput(values=values, proba=proba, classes=_model_classes(model))


@dataclass(frozen=True, slots=True)
class Target:
    """The true values, and (classification) the sorted classes of data and models."""

    task: Task
    y: np.ndarray
    classes: np.ndarray

    @property
    def binary(self) -> bool:
        """Two classes (or fewer): precision, recall and F1 are those of the positive class."""
        return len(self.classes) <= 2

    @property
    def positive(self) -> Any:
        """The positive class of a binary task: the greater of the two (1, True, "yes")."""
        return self.classes[-1]


def _sorted_unique(parts: Sequence[np.ndarray]) -> np.ndarray:
    merged = np.concatenate([np.asarray(p, dtype=object) for p in parts])
    unique = list(dict.fromkeys(merged.tolist()))
    try:
        unique.sort()
    except TypeError:  # mixed types (e.g. 1 and "1"): order by text, deterministically
        unique.sort(key=repr)
    values = np.asarray(unique)
    return values if values.dtype != object else np.asarray(unique, dtype=object)


def make_target(task: Task, y: pd.Series, outputs: Sequence[ModelOutput]) -> Target:
    """The ground truth for ``task``, with the union of classes seen in ``y``, in the models'
    predictions and in their ``classes_``."""
    if task == "regression":
        try:
            values = y.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"target column {y.name!r} is not numeric: {exc}",
                field="target",
                hint="use --task classification for class labels",
            ) from None
        return Target(task, values, np.asarray([]))
    truth = y.to_numpy()
    parts = [truth] + [o.values for o in outputs]
    parts += [o.classes for o in outputs if o.classes is not None]
    classes = _sorted_unique(parts)
    if object in (truth.dtype, classes.dtype):
        truth = truth.astype(object)
    return Target(task, truth, classes)


@dataclass(frozen=True, slots=True)
class Predictions:
    """One model's outputs on the evaluation rows, aligned to a :class:`Target`.

    ``proba`` has one column per ``Target.classes`` (or is None, with ``note`` saying why).
    """

    values: np.ndarray
    proba: np.ndarray | None = None
    note: str | None = None

    def take(self, rows: np.ndarray) -> Predictions:
        """The same predictions for a subset of rows."""
        proba = None if self.proba is None else self.proba[rows]
        return Predictions(self.values[rows], proba, self.note)


def align(output: ModelOutput, target: Target) -> Predictions:  # noqa: PLR0911 - one return per case
    """Map a model's probability columns onto ``target.classes``."""
    values = output.values
    if target.task == "regression":
        return Predictions(values.astype(float))
    if values.dtype != target.y.dtype and target.y.dtype == object:
        values = values.astype(object)
    proba, classes, k = output.proba, output.classes, len(target.classes)
    if proba is None:
        return Predictions(values, None, output.note)
    if proba.ndim == 1 or (proba.ndim == 2 and proba.shape[1] == 1):
        if k != 2:
            return Predictions(values, None, "predict_proba gave one column for a multiclass task")
        positive = proba.reshape(-1)
        return Predictions(values, np.column_stack([1.0 - positive, positive]))
    if classes is None or len(classes) != proba.shape[1]:
        if proba.shape[1] != k:
            note = f"predict_proba gave {proba.shape[1]} columns for {k} classes"
            return Predictions(values, None, note)
        return Predictions(values, proba)
    index = {c: i for i, c in enumerate(target.classes.tolist())}
    aligned = np.zeros((len(values), k), dtype=float)
    for column, label in enumerate(classes.tolist()):
        aligned[:, index[label]] = proba[:, column]
    return Predictions(values, aligned)


def compute_metrics(
    target: Target, pred: Predictions, rows: np.ndarray | None = None
) -> dict[str, float | None]:
    """Every metric of the task for ``pred`` (restricted to ``rows`` if given); None where a
    metric is undefined (no ``predict_proba``, a single class present, fewer than 2 rows)."""
    y = target.y if rows is None else target.y[rows]
    p = pred if rows is None else pred.take(rows)
    if target.task == "regression":
        return _regression(y, p.values)
    return _classification(target, y, p)


def _regression(y: np.ndarray, values: np.ndarray) -> dict[str, float | None]:
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    if len(y) == 0:
        return dict.fromkeys(REGRESSION_METRICS)
    return {
        "mae": float(mean_absolute_error(y, values)),
        "rmse": float(root_mean_squared_error(y, values)),
        "r2": float(r2_score(y, values)) if len(y) >= 2 else None,
    }


def _classification(target: Target, y: np.ndarray, p: Predictions) -> dict[str, float | None]:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    out: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRICS)
    if len(y) == 0:
        return out
    kwargs: dict[str, Any] = {"zero_division": 0}
    if target.binary:
        kwargs.update(average="binary", pos_label=target.positive)
    else:
        kwargs["average"] = "macro"
    out["accuracy"] = float(accuracy_score(y, p.values))
    out["precision"] = float(precision_score(y, p.values, **kwargs))
    out["recall"] = float(recall_score(y, p.values, **kwargs))
    out["f1"] = float(f1_score(y, p.values, **kwargs))
    if p.proba is not None and len(target.classes) >= 2:
        out["roc_auc"] = _roc_auc(target, y, p.proba)
        out["log_loss"] = _log_loss(target, y, p.proba)
    return out


def _roc_auc(target: Target, y: np.ndarray, proba: np.ndarray) -> float | None:
    """Binary AUC of the positive class; for more classes the mean one-vs-rest AUC over the
    classes present (scikit-learn's ``multi_class="ovr"`` when every class is present)."""
    from sklearn.metrics import roc_auc_score

    columns = [1] if target.binary else range(len(target.classes))
    scores = []
    for k in columns:
        positive = y == target.classes[k]
        if positive.all() or not positive.any():
            continue
        scores.append(float(roc_auc_score(positive, proba[:, k])))
    return float(np.mean(scores)) if scores else None


def _log_loss(target: Target, y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(y, proba, labels=target.classes))
