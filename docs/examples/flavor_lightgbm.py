"""The lightgbm flavor: save, load, predict the same."""

import lightgbm
from sklearn.datasets import load_breast_cancer

import loopml

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
clf = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
loopml.models.save_model(clf, "lgbm-model", input_example=X[:5])

model = loopml.models.load("lgbm-model")
assert (model.predict(X) == clf.predict(X)).all()
assert (model.predict_proba(X) == clf.predict_proba(X)).all()
