"""Steps, a pipeline, a fan-out, named outputs, caching, a failure and its resume."""

from pathlib import Path
from typing import Annotated

import pandas as pd

from loopml import pipeline, step
from loopml.pipelines import StepFailedError


@step
def load(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"region": ["north", "south"] * (rows // 2), "amount": range(rows)})


@step
def split(df: pd.DataFrame) -> tuple[Annotated[pd.DataFrame, "north"], Annotated[int, "rows"]]:
    return df[df.region == "north"], len(df)


@step
def region_total(df: pd.DataFrame, region: str) -> float:
    return float(df[df.region == region].amount.sum())


@step(retries=2, backoff=0.01)  # a failing attempt is retried after 0.01 s, then 0.02 s
def report(totals: list[float], north: pd.DataFrame, rows: int, stop: str) -> dict[str, float]:
    if Path(stop).exists():
        raise RuntimeError(f"{stop} exists: refusing to report")
    return {"total": sum(totals), "north_rows": len(north), "rows": rows}


@pipeline
def sales(rows: int = 6, stop: str = "STOP") -> None:
    df = load(rows)  # inside a pipeline, a call returns a placeholder: nothing runs yet
    north, n = split(df)  # two named outputs
    totals = region_total.map(["north", "south"], df=df)  # fan-out: one run per region
    report(totals, north, n, stop=stop)  # fan-in: `totals` arrives as a list


first = sales.run(rows=6)  # executor="inline" by default; "process" or "ray" in parallel
print(first.output("report"))  # {'north_rows': 3, 'rows': 6, 'total': 15.0}
print(first.output("region_total"))  # [6.0, 9.0]: every item of the map
assert first.cached == []

again = sales.run(rows=6)  # same code, params and inputs: every step is a cache hit
assert again.executed == []
assert again.output("report")["total"] == 15.0

bigger = sales.run(rows=8)  # a new param reruns what depends on it, here everything
assert bigger.output("report")["total"] == 28.0

Path("STOP").touch()
try:
    sales.run(rows=10)
except StepFailedError as exc:
    print(exc.step, exc.exc_type, exc.attempts)  # report RuntimeError 3
    print(exc.resume_hint)  # loopml pipeline run pipelines_basics:sales --param rows=10
Path("STOP").unlink()

resumed = sales.run(rows=10)  # resume = run again: steps that succeeded are cache hits
print(resumed.cached, resumed.executed)  # [..., 'region_total[1]'] ['report']
assert resumed.executed == ["report"]

print(region_total(pd.DataFrame({"region": ["x"], "amount": [2]}), "x"))  # plain call: 2.0
