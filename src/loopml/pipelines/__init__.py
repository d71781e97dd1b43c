"""Pipelines: typed steps, a static DAG, content-hash caching, parallel and Ray execution.

Example:
    >>> from loopml import pipeline, step
    >>> @step
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> @pipeline
    ... def twice(x: int = 1) -> None:
    ...     double(double(x))
    >>> result = twice.run(x=3)                                      # doctest: +SKIP
    >>> result.output("double_2")                                    # doctest: +SKIP
    12

Functions are imported on first use, so ``import loopml`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "step": "loopml.pipelines.step",
    "Step": "loopml.pipelines.step",
    "pipeline": "loopml.pipelines.pipeline",
    "Pipeline": "loopml.pipelines.pipeline",
    "PipelineRunResult": "loopml.pipelines.result",
    "StepFailedError": "loopml.pipelines.errors",
    "sweep": "loopml.pipelines.sweep",
    "uniform": "loopml.pipelines.space",
    "loguniform": "loopml.pipelines.space",
    "intrange": "loopml.pipelines.space",
    "choice": "loopml.pipelines.space",
}

__all__ = [
    "Pipeline",
    "PipelineRunResult",
    "Step",
    "StepFailedError",
    "choice",
    "intrange",
    "loguniform",
    "pipeline",
    "step",
    "sweep",
    "uniform",
]

if TYPE_CHECKING:
    from loopml.pipelines.errors import StepFailedError
    from loopml.pipelines.pipeline import Pipeline, pipeline
    from loopml.pipelines.result import PipelineRunResult
    from loopml.pipelines.space import choice, intrange, loguniform, uniform
    from loopml.pipelines.step import Step, step
    from loopml.pipelines.sweep import sweep

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
