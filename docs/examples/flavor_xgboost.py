"""The xgboost flavor: save, load, predict the same."""

import xgboost
from sklearn.datasets import load_iris

import loopml

X, y = load_iris(return_X_y=True, as_frame=True)
clf = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
loopml.models.save_model(clf, "xgb-model", input_example=X[:5])

model = loopml.models.load("xgb-model")
assert (model.predict(X) == clf.predict(X)).all()
assert (model.predict_proba(X) == clf.predict_proba(X)).all()
