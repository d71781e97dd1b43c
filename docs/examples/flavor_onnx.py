"""The onnx flavor: save, load, predict the same."""

import numpy as np
import skl2onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import loopml

X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)
clf = LogisticRegression(max_iter=1000).fit(X, y)
onx = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False})
loopml.models.save_model(onx, "onnx-model", input_example=X[:5])

model = loopml.models.load("onnx-model")
labels = model.predict(X)  # the graph's first output ("label")
proba = model.predict_proba(X)  # its "probabilities" output
