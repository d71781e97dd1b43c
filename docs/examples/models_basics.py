"""Log a model with its signature, register it, point an alias at it, load it by alias."""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.errors import SignatureError

X, y = load_breast_cancer(return_X_y=True, as_frame=True)

with loopml.start_run(project="churn", name="logreg"):
    clf = LogisticRegression(max_iter=5000).fit(X, y)
    loopml.log_metric("accuracy", clf.score(X, y))
    info = loopml.models.log_model(clf, input_example=X[:5], registered_name="churn")

print(info.uri, "->", info.model_uri)  # runs:/<run id>/model -> models:/churn/1
loopml.models.set_alias("churn", "champion", info.version)

model = loopml.models.load("models:/churn@champion")
assert np.array_equal(model.predict(X), clf.predict(X))
print(model.signature.inputs[0])  # ColumnSpec(name='mean radius', dtype='float64', shape=None)

# The signature is enforced: a missing column is a clear error, not a wrong prediction.
try:
    model.predict(X.drop(columns=["mean radius"]))
except SignatureError as exc:
    print(exc.field, "->", exc)
