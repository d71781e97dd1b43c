"""Log params, metrics (a training loop), tags and artifacts to a run."""

import math

import loopml

with loopml.start_run(project="churn", name="baseline", tags={"team": "risk"}) as run:
    loopml.log_params({"lr": 0.01, "depth": 6})
    for step in range(100):
        loss = math.exp(-step / 30)
        loopml.log_metrics({"loss": loss, "acc": 1 - loss / 2}, step=step)
    loopml.log_text("trained on synthetic data", "notes.txt")
    loopml.log_dict({"classes": ["stay", "churn"]}, "labels.json")

print(run.id, run.status)
assert loopml.get_run(run.id).metrics["acc"] > 0.9
