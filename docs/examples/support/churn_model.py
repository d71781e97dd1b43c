"""A pyfunc model class the docs examples import."""

import numpy as np

import loopml.models


class ChurnScorer(loopml.models.PythonModel):
    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.coef = None

    def load_context(self, context):
        # context.artifacts: name -> local path of the file in the loaded package
        self.coef = np.load(context.artifacts["coef"])

    def predict(self, context, model_input):
        return (np.asarray(model_input, dtype=float) @ self.coef > self.threshold).astype(int)

    def predict_proba(self, context, model_input):  # optional
        p = np.clip(np.asarray(model_input, dtype=float) @ self.coef, 0, 1)
        return np.column_stack([1 - p, p])
