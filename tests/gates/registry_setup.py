"""A registry with two versions of ``churn`` and an evaluation table, for end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml


def churn_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``churn`` v1 (a prior-only dummy, alias ``champion``), v2 (logistic regression, alias
    ``challenger``), v3 (a dummy again, no alias); ``datasets:/eval/1`` with ``region`` and
    ``churned``."""
    from sklearn.datasets import make_classification
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("LOOPML_TRACKING_URI", f"sqlite:///{tmp_path / 'loopml.db'}")
    monkeypatch.setenv("LOOPML_ARTIFACT_URI", str(tmp_path / "objects"))
    loopml.configure()
    X, y = make_classification(
        n_samples=800, n_features=4, n_informative=3, n_redundant=0, class_sep=2.0, random_state=0
    )
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    train, test = frame.iloc[:400], frame.iloc[400:].reset_index(drop=True)
    dummy = DummyClassifier(strategy="prior").fit(train, y[:400])
    good = LogisticRegression().fit(train, y[:400])
    v1 = loopml.models.log_model(
        dummy, name="model", registered_name="churn", input_example=train.iloc[:5]
    )
    v2 = loopml.models.log_model(
        good, name="model", registered_name="churn", input_example=train.iloc[:5]
    )
    loopml.models.log_model(
        dummy, name="model", registered_name="churn", input_example=train.iloc[:5]
    )
    loopml.models.set_alias("churn", "champion", v1.version)
    loopml.models.set_alias("churn", "challenger", v2.version)
    evaluation = test.assign(region=np.where(test["f0"] > 0, "eu", "us"), churned=y[400:])
    data = loopml.data.log_table(evaluation, name="eval")
    loopml.flush()
    return {"champion": str(v1.model_uri), "challenger": str(v2.model_uri), "data": data.uri}
