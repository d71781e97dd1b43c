"""Pipelines the engine tests run; a module so process and Ray workers can import the steps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from loopml import pipeline, step
from loopml.pipelines import Pipeline


@step
def source(x: int) -> int:
    print(f"source {x}")
    return x


@step
def add(a: int, b: int = 1) -> int:
    return a + b


@step
def mul(a: int, b: int) -> int:
    return a * b


@step
def square(x: int) -> int:
    return x * x


@step
def total(values: list[int]) -> int:
    return sum(values)


@pipeline
def linear(x: int = 1) -> None:
    """source -> add -> add_2: x + 2."""
    add(add(source(x)))


@pipeline
def diamond(x: int = 1) -> None:
    """source -> (add, add_2) -> mul: (x + 10) * (x + 20)."""
    s = source(x)
    mul(add(s, 10), add(s, 20))


@pipeline
def fan(n: int = 4) -> None:
    """square.map(range(n)) -> total: the sum of squares."""
    total(square.map(list(range(n))))


#: the shapes of the matrix: pipeline, params, (node, expected output) to check
SHAPES: dict[str, tuple[Pipeline, dict[str, Any], tuple[str, int]]] = {
    "linear": (linear, {"x": 5}, ("add_2", 7)),
    "diamond": (diamond, {"x": 1}, ("mul", 11 * 21)),
    "fan": (fan, {"n": 5}, ("total", 0 + 1 + 4 + 9 + 16)),
}


# -- failures, retries, resume ---------------------------------------------------------------
class FlakyError(RuntimeError):
    """Raised by :func:`flaky` while its flag file says so."""


@step(retries=2, backoff=0.01)
def flaky(value: int, counter: str, fail_times: int) -> int:
    """Fails its first ``fail_times`` attempts (counted in the file ``counter``)."""
    path = Path(counter)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < fail_times:
        raise FlakyError(f"attempt {count + 1} fails")
    return value * 10


@pipeline
def retrying(counter: str, fail_times: int = 1) -> None:
    add(flaky(source(1), counter=counter, fail_times=fail_times))


@step
def gate(value: int, flag: str) -> int:
    """Raises while the file ``flag`` exists."""
    if Path(flag).exists():
        raise FlakyError(f"flag {flag} is set")
    return value + 100


@pipeline
def resumable(flag: str, x: int = 1) -> None:
    """source -> add -> gate -> mul(gate, add_2); add_2 is an independent branch."""
    s = source(x)
    g = gate(add(s), flag=flag)
    mul(g, add(s, 5))


# -- outputs ---------------------------------------------------------------------------------
@step
def split(x: int) -> tuple[Annotated[int, "low"], Annotated[int, "high"]]:
    return x - 1, x + 1


@dataclass
class Stats:
    mean: float
    count: int


@step
def stats(values: list[int]) -> Stats:
    return Stats(sum(values) / len(values), len(values))


@step
def named(x: int) -> Annotated[dict[str, int], "report"]:
    return {"x": x}


@step
def describe(mean: float, count: int, low: int, high: int) -> str:
    return f"{mean}/{count}/{low}/{high}"


@pipeline
def outputs(x: int = 3) -> None:
    low, high = split(x)
    st = stats([low, high])
    describe(st.mean, st.count, low, high)
    named(x)


# -- parallelism -----------------------------------------------------------------------------
@step
def nap(seconds: float, tag: int) -> list[float]:
    start = time.time()
    time.sleep(seconds)
    return [start, time.time()]


@pipeline
def two_naps(seconds: float = 0.5) -> None:
    nap(seconds, 1)
    nap(seconds, 2)


# -- logging from a step ---------------------------------------------------------------------
@step
def logs_things(x: int) -> int:
    import loopml

    loopml.log_metric("score", x / 2)
    loopml.log_metrics({"a": 1.0, "b": 2.0})
    loopml.log_param("extra", "yes")
    loopml.set_tag("kind", "test")
    loopml.log_text("notes", "notes.txt")
    return x


@pipeline
def logging_pipeline(x: int = 4) -> None:
    logs_things(x)


# -- a dying worker, an interrupt --------------------------------------------------------------
@step(retries=1, backoff=0.01)
def die(x: int) -> int:
    import os

    os._exit(3)


@pipeline
def dying(x: int = 1) -> None:
    die(x)


@step
def interrupted(x: int) -> int:
    raise KeyboardInterrupt


@pipeline
def interrupting(x: int = 1) -> None:
    interrupted(source(x))
