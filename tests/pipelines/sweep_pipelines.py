"""Tiny pipelines and functions for the sweep and Ray executor tests (importable by workers)."""

from __future__ import annotations

from loopml import pipeline, step
from loopml.pipelines.sweep import report


@step
def shift(x: float) -> float:
    return x - 2.0


@step
def evaluate(delta: float) -> dict[str, float]:
    return {"score": -(delta**2), "abs": abs(delta)}


@pipeline
def quadratic(x: float = 0.0) -> None:
    evaluate(shift(x))


class CustomStepError(RuntimeError):
    """An exception type only this module defines."""


@step
def explode(x: float) -> float:
    raise CustomStepError(f"the original message (x={x})")


@pipeline
def exploding(x: float = 1.0) -> None:
    evaluate(explode(x))


def parabola(x: float) -> float:
    """Best at x = 2 (value 0)."""
    return -((x - 2.0) ** 2)


def scored(x: float, kind: str = "a") -> dict[str, float]:
    bonus = 0.5 if kind == "b" else 0.0
    return {"score": -((x - 2.0) ** 2) + bonus, "x": x}


def decaying(lr: float) -> float:
    """Reports a loss per epoch so a pruner can stop poor trials."""
    loss = 1.0
    for epoch in range(8):
        loss *= 1.0 - lr
        report(loss, epoch)
    return loss


def failing(x: float) -> float:
    raise ValueError(f"bad x {x}")


def slow_parabola(x: float) -> dict[str, float]:
    """Takes a moment, and says which process ran it."""
    import os
    import time

    time.sleep(0.3)
    return {"score": -((x - 2.0) ** 2), "pid": float(os.getpid())}
