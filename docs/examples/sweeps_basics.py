"""Sweep a function and a pipeline with Optuna; every trial is a run you can compare."""

import loopml
from loopml import pipeline, step
from loopml.pipelines.space import choice, intrange, loguniform, uniform
from loopml.pipelines.sweep import report


# 1. A plain function: the params come in as keyword arguments, a number (or a dict) comes out.
def objective(x: float, kind: str = "a") -> float:
    return -((x - 2.0) ** 2) + (0.5 if kind == "b" else 0.0)


result = loopml.sweep(
    objective,
    {"x": uniform(-5, 5), "kind": choice(["a", "b"])},
    n_trials=30,
    seed=0,
    project="sweeps",
)
print(result.best_params, round(result.best_value, 3))
assert abs(result.best_params["x"] - 2.0) < 0.5
assert result.best_params["kind"] == "b"


# 2. Pruning: report a value per epoch; the median pruner stops trials behind the others.
def training(lr: float, epochs: int) -> float:
    loss = 1.0
    for epoch in range(epochs):
        loss *= 1.0 - lr
        report(loss, epoch)  # logged as the trial's metric history; may raise TrialPruned
    return loss


pruned = loopml.sweep(
    training,
    {"lr": loguniform(1e-3, 0.5), "epochs": intrange(5, 10)},
    n_trials=20,
    direction="minimize",
    pruner="median",
    seed=0,
    project="sweeps",
)
print(pruned.trials["state"].value_counts().to_dict())


# 3. A pipeline: the metric "evaluate.score" is the key "score" of the dict evaluate returns.
@step
def shift(x: float) -> float:
    return x - 2.0


@step
def evaluate(delta: float) -> dict[str, float]:
    return {"score": -(delta**2)}


@pipeline
def quadratic(x: float = 0.0) -> None:
    evaluate(shift(x))


best = loopml.sweep(quadratic, {"x": uniform(-5, 5)}, n_trials=12, metric="evaluate.score", seed=0)
print(best.best_params, best.run_id)

# The sweep run holds the best params and value; each trial is a child run.
sweep_run = loopml.get_run(best.run_id)
print(sweep_run.params["best.x"], sweep_run.metrics["best_evaluate.score"])
trials = loopml.search_runs(filter=f"tags.loopml.sweep = '{best.run_id}'")
print(trials[["run_id", "params.x", "metrics.evaluate.score"]].head())
assert len(trials) == 12
