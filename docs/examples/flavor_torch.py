"""The torch flavor: safetensors weights + the class import path + init_args."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "support"))  # where the class lives

import numpy as np
from my_nets import Net

import loopml

net = Net(n_in=4, hidden=8)  # ... train it ...
X = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")
loopml.models.save_model(
    net, "torch-model", init_args={"n_in": 4, "hidden": 8}, input_example=X[:5]
)

model = loopml.models.load("torch-model")
scores = model.predict(X)  # a numpy array, computed on the CPU
