"""A gate between two registered models, from Python."""

import pandas as pd
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

import loopml
import loopml.gates

X, y = make_classification(n_samples=600, n_features=4, random_state=0)
frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
train, test = frame.iloc[:300], frame.iloc[300:].reset_index(drop=True)

old = loopml.models.log_model(
    DummyClassifier().fit(train, y[:300]), input_example=train[:5], registered_name="churn"
)
loopml.models.set_alias("churn", "champion", old.version)
new = loopml.models.log_model(
    LogisticRegression().fit(train, y[:300]), input_example=train[:5], registered_name="churn"
)
evaluation = test.assign(region=(test["f0"] > 0).map({True: "eu", False: "us"}), label=y[300:])
data = loopml.data.log_table(evaluation, name="churn-eval")

report = loopml.gates.run_gate(
    new.model_uri,
    against="models:/churn@champion",
    data="datasets:/churn-eval@latest",
    target="label",
    require=["accuracy>=0.7"],
    max_regression=["f1:0.01"],
    slices=["region"],
    seed=0,
    promote="champion",
)
print(report.passed, report.promoted)
print(report.to_markdown())
report.write("gate-report")
assert report.passed
assert loopml.models.resolve("models:/churn@champion").version == new.version
