"""What ``Pipeline.run`` returns: the pipeline run, and each step's run, cache use and outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loopml.errors import InvalidInputError, NotFoundError
from loopml.pipelines.refs import ArtifactRef

__all__ = ["PipelineRunResult", "StepRun"]


@dataclass
class StepRun:
    """One node of a pipeline run.

    ``status`` is FINISHED, FAILED, or SKIPPED (not run because an upstream step failed);
    ``cache`` is ``hit``, ``miss`` or ``disabled``.
    """

    name: str
    step: str
    run_id: str | None = None
    status: str = "SKIPPED"
    cache: str = "disabled"
    cache_key: str | None = None
    duration_s: float = 0.0
    attempts: int = 0
    outputs: dict[str, ArtifactRef] = field(default_factory=dict)
    group: str | None = None

    @property
    def executed(self) -> bool:
        """True when the step's function ran in this pipeline run."""
        return self.attempts > 0


@dataclass
class PipelineRunResult:
    """A finished pipeline run.

    Example:
        >>> result = churn.run(lr=0.05)                              # doctest: +SKIP
        >>> result.output("evaluate")["auc"], result.cached          # doctest: +SKIP
        (0.91, ['load'])
    """

    run_id: str
    pipeline: str
    status: str
    steps: dict[str, StepRun]
    params: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def __getitem__(self, name: str) -> StepRun:
        return self._step(name)

    @property
    def executed(self) -> list[str]:
        """Nodes whose function ran (cache misses and uncached steps), in graph order."""
        return [name for name, s in self.steps.items() if s.executed]

    @property
    def cached(self) -> list[str]:
        """Nodes served from the cache, in graph order."""
        return [name for name, s in self.steps.items() if s.cache == "hit"]

    def _step(self, name: str) -> StepRun:
        found = self.steps.get(name)
        if found is None:
            raise NotFoundError(
                f"pipeline {self.pipeline!r} has no step {name!r}",
                field="step",
                hint=f"steps: {', '.join(self.steps)}",
            )
        return found

    def ref(self, step: str, name: str | None = None) -> ArtifactRef:
        """The stored output ``name`` of ``step`` (its only output when ``name`` is None)."""
        record = self._step(step)
        if name is None:
            if len(record.outputs) != 1:
                raise InvalidInputError(
                    f"step {step!r} has {len(record.outputs)} outputs; name one",
                    field="name",
                    hint=f"outputs: {', '.join(record.outputs) or 'none'}",
                )
            return next(iter(record.outputs.values()))
        try:
            return record.outputs[name]
        except KeyError:
            raise NotFoundError(
                f"step {step!r} has no output {name!r}",
                field="name",
                hint=f"outputs: {', '.join(record.outputs) or 'none'}",
            ) from None

    def output(self, step: str, name: str | None = None) -> Any:
        """Load an output's value. For a mapped step's name (``train`` of ``train.map``), the
        list of every item's output."""
        from loopml.pipelines.materializers import get_materializer
        from loopml.tracking.context import get_context

        if step not in self.steps:
            items = [n for n, s in self.steps.items() if s.group == step]
            if items:
                return [self.output(item, name) for item in items]
        ref = self.ref(step, name)
        return get_materializer(ref.materializer).load(ref, get_context())
