"""The pyfunc flavor: your class, its code and artifacts packaged, no pickle."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "support"))  # where the class lives

import numpy as np
import pandas as pd
from churn_model import ChurnScorer

import loopml

np.save("coef.npy", np.array([0.2, 0.5]))
df = pd.DataFrame({"tenure": [0.1, 0.9], "usage": [0.3, 1.2]})
loopml.models.save_model(
    ChurnScorer(threshold=0.4),
    "pyfunc-model",
    init_args={"threshold": 0.4},
    artifacts={"coef": "coef.npy"},
    input_example=df,
)

model = loopml.models.load("pyfunc-model")  # works from any folder, any process
model.predict(df)
