"""Setting up a sweep: Optuna's sampler and pruner, the checks made before the sweep run
starts, and reading a trial's metric from what the target returned."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from loopml.errors import InvalidInputError, MissingExtraError
from loopml.pipelines.space import Distribution
from loopml.pipelines.sweep_trials import DEFAULT_METRIC, check_sendable

__all__ = [
    "check_options",
    "check_pipeline_metric",
    "import_optuna",
    "make_pruner",
    "make_sampler",
    "metric_of",
    "sampler_name",
    "suggest",
    "target_name",
]


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingExtraError("loopml.sweep", "optuna", "optuna") from None
    return optuna


def make_sampler(optuna: Any, sampler: Any, seed: int | None) -> Any:
    if not isinstance(sampler, str):
        return sampler
    kinds: dict[str, Callable[[], Any]] = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "qmc": lambda: optuna.samplers.QMCSampler(seed=seed),
    }
    make = kinds.get(sampler.lower())
    if make is None:
        raise InvalidInputError(
            f"unknown sampler {sampler!r}", field="sampler", hint=f"use one of {', '.join(kinds)}"
        )
    return make()


def make_pruner(optuna: Any, pruner: Any) -> Any:
    if pruner is None or not isinstance(pruner, str):
        return pruner
    kinds: dict[str, Callable[[], Any]] = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5),
        "hyperband": optuna.pruners.HyperbandPruner,
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
        "none": lambda: None,
    }
    make = kinds.get(pruner.lower())
    if make is None:
        raise InvalidInputError(
            f"unknown pruner {pruner!r}", field="pruner", hint=f"use one of {', '.join(kinds)}"
        )
    return make()


# -- the target: a plain function or a pipeline ------------------------------------------------
def is_pipeline_target(target: Any) -> bool:
    try:
        from loopml.pipelines.pipeline import Pipeline
    except ImportError:  # pragma: no cover - the definition module is part of the package
        return False
    return isinstance(target, Pipeline)


def metric_of(value: Any, metric: str | None) -> tuple[str, float, dict[str, float]]:
    """``(metric name, value, every numeric metric)`` from what a trial returned."""
    if isinstance(value, Mapping):
        numbers = {str(k): float(v) for k, v in value.items() if is_number(v)}
        if metric is None:
            if len(value) != 1:
                raise InvalidInputError(
                    f"the target returned a dict with keys {sorted(map(str, value))}; "
                    "say which one to optimize",
                    field="metric",
                    hint="pass metric='<key>'",
                )
            metric = str(next(iter(value)))
        if metric not in value:
            raise InvalidInputError(
                f"the target's result has no key {metric!r} (keys: {sorted(map(str, value))})",
                field="metric",
            )
        chosen = value[metric]
    else:
        metric = metric or DEFAULT_METRIC
        chosen = value
        numbers = {}
    if not is_number(chosen):
        raise InvalidInputError(
            f"metric {metric!r} must be a number, got {type(chosen).__name__} {chosen!r}",
            field="metric",
        )
    numbers[metric] = float(chosen)
    return metric, float(chosen), numbers


def is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str | bytes)


def sampler_name(sampler: Any) -> str:
    return sampler if isinstance(sampler, str) else type(sampler).__name__


def target_name(target: Any) -> str:
    return str(getattr(target, "name", None) or getattr(target, "__name__", "target"))


def check_pipeline_metric(metric: str | None) -> str:
    step, dot, key = (metric or "").partition(".")
    if not dot or not step or not key:
        raise InvalidInputError(
            f"a pipeline sweep's metric is '<step>.<key>', got {metric!r}",
            field="metric",
            hint="the key of the dict a step returns, e.g. metric='evaluate.auc'",
        )
    return str(metric)


def check_params(target: Any, names: list[str], pipeline: bool) -> None:
    """Every searched name must be a parameter the target takes."""

    func = getattr(target, "func", target) if pipeline else target
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return
    kinds = {p.kind for p in signature.parameters.values()}
    if inspect.Parameter.VAR_KEYWORD in kinds:
        return
    accepted = {
        n
        for n, p in signature.parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    for name in names:
        if name not in accepted:
            raise InvalidInputError(
                f"{target_name(target)} takes no parameter {name!r}",
                field=f"space.{name}",
                hint=f"it takes: {', '.join(sorted(accepted)) or 'nothing'}",
            )


def suggest(trial: Any, dists: Mapping[str, Distribution]) -> dict[str, Any]:
    return {name: dist.suggest(trial, name) for name, dist in dists.items()}


def check_options(
    target: Any,
    dists: Mapping[str, Distribution],
    direction: str,
    n_trials: int,
    n_jobs: int | None,
    executor: str,
) -> bool:
    """Check what can be checked before the sweep run starts; True for a pipeline target."""
    if direction not in ("maximize", "minimize"):
        raise InvalidInputError(
            f"direction must be 'maximize' or 'minimize', got {direction!r}", field="direction"
        )
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise InvalidInputError(f"n_trials must be at least 1, got {n_trials!r}", field="n_trials")
    if n_jobs is not None and n_jobs < 1:
        raise InvalidInputError(f"n_jobs must be at least 1, got {n_jobs}", field="n_jobs")
    if executor not in ("inline", "process", "ray"):
        raise InvalidInputError(
            f"unknown executor {executor!r}", field="executor", hint="use inline, process or ray"
        )
    if executor == "inline" and n_jobs not in (None, 1):
        raise InvalidInputError(
            "the inline executor runs one trial at a time",
            field="n_jobs",
            hint="use executor='process' or 'ray' for parallel trials",
        )
    is_pipeline = is_pipeline_target(target)
    if not is_pipeline and not callable(target):
        raise InvalidInputError(
            f"a sweep target is a @pipeline or a function, got {type(target).__name__}",
            field="target",
        )
    check_params(target, list(dists), is_pipeline)
    if not is_pipeline:
        check_sendable(target, executor)
    return is_pipeline
