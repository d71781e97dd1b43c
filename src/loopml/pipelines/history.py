"""Reading pipeline runs back: the run, its recorded DAG and its step runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from loopml.entities import Run
from loopml.errors import InvalidInputError

__all__ = ["PipelineRunRecord", "read_pipeline_run"]

DAG_ARTIFACT = "pipeline/dag.json"


@dataclass(frozen=True, slots=True)
class PipelineRunRecord:
    """A stored pipeline run: the run, the DAG it ran, and one child run per step run."""

    run: Run
    dag: dict[str, Any]
    steps: list[Run]


def read_pipeline_run(run_id: str) -> PipelineRunRecord:
    """The pipeline run ``run_id`` with its DAG and step runs.

    Raises:
        NotFoundError: no such run.
        InvalidInputError: the run is not a pipeline run.
    """
    from loopml.store.filter import parse_filter
    from loopml.tracking.context import get_context

    ctx = get_context()
    ctx.flush()
    run = ctx.store.get_run(run_id)
    if "loopml.pipeline" not in run.tags or "loopml.step" in run.tags:
        raise InvalidInputError(
            f"run {run_id} is not a pipeline run",
            run_id=run_id,
            field="run_id",
            hint="see `loopml pipeline list`",
        )
    entries = ctx.store.list_artifacts(run_id, DAG_ARTIFACT)
    dag: dict[str, Any] = {"nodes": []}
    if entries:
        dag = json.loads(ctx.objects.get_bytes(entries[0].blob))
    steps: list[Run] = []
    token: str | None = None
    ast = parse_filter(f"attributes.parent_id = '{run.id}'")
    while True:
        page = ctx.store.search_runs(
            [run.project], filter=ast, max_results=10_000, page_token=token
        )
        steps.extend(page.items)
        token = page.next_token
        if token is None:
            break
    return PipelineRunRecord(run, dag, steps)
