"""Step caching: a second run with the same code, params and inputs runs nothing; a changed
param reruns what depends on it; `loopml cache clear` forgets everything."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

from loopml import pipeline, step

LOG = Path("ran.txt")  # which step bodies ran (a file: steps may run in other processes)


def ran(name: str) -> None:
    with LOG.open("a") as log:
        log.write(name + "\n")


def calls() -> list[str]:
    return LOG.read_text().split() if LOG.exists() else []


@step
def load(rows: int) -> pd.DataFrame:
    ran("load")
    return pd.DataFrame({"x": range(rows)})


@step(cache_version="1")  # bump it to force a rerun when something outside the code changed
def summarize(df: pd.DataFrame, scale: float) -> dict[str, float]:
    ran("summarize")
    return {"total": float(df["x"].sum()) * scale}


@pipeline
def report(rows: int = 5, scale: float = 1.0) -> None:
    summarize(load(rows), scale=scale)


first = report.run(rows=5, executor="inline")
assert calls() == ["load", "summarize"]

second = report.run(rows=5, executor="inline")  # same code, params and inputs: all hits
assert calls() == ["load", "summarize"]
assert {s.cache for s in second.steps.values()} == {"hit"}
print(second.output("summarize"))  # {'total': 10.0}

report.run(rows=5, scale=2.0, executor="inline")  # only the step whose param changed reruns
assert calls() == ["load", "summarize", "summarize"]

listed = subprocess.run(
    [sys.executable, "-m", "loopml", "cache", "list", "--pipeline", "report"],
    capture_output=True,
    text=True,
    check=True,
)
print(listed.stdout)
subprocess.run([sys.executable, "-m", "loopml", "cache", "clear", "--yes"], check=True)
report.run(rows=5, executor="inline")  # nothing cached any more: everything runs again
assert calls()[-2:] == ["load", "summarize"]
