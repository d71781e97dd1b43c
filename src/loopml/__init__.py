"""loopml: MLOps in one tool, with the loop closed.

The public API is this module's ``__all__``; everything else may change. Nothing heavy is
imported until it is used, so ``import loopml`` and ``loopml --help`` stay fast.

Example:
    >>> import loopml
    >>> with loopml.start_run(project="churn", name="baseline") as run:  # doctest: +SKIP
    ...     loopml.log_params({"lr": 0.01})
    ...     loopml.log_metric("acc", 0.93)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from loopml._version import __version__

_EXPORTS: dict[str, str] = {
    # tracking
    "ActiveRun": "loopml.tracking",
    "active_run": "loopml.tracking",
    "configure": "loopml.tracking",
    "delete_run": "loopml.tracking",
    "download_artifacts": "loopml.tracking",
    "end_run": "loopml.tracking",
    "flush": "loopml.tracking",
    "get_metric_history": "loopml.tracking",
    "get_run": "loopml.tracking",
    "list_artifacts": "loopml.tracking",
    "list_projects": "loopml.tracking",
    "log_artifact": "loopml.tracking",
    "log_artifacts": "loopml.tracking",
    "log_batch": "loopml.tracking",
    "log_dict": "loopml.tracking",
    "log_figure": "loopml.tracking",
    "log_metric": "loopml.tracking",
    "log_metrics": "loopml.tracking",
    "log_param": "loopml.tracking",
    "log_params": "loopml.tracking",
    "log_text": "loopml.tracking",
    "restore_run": "loopml.tracking",
    "search_runs": "loopml.tracking",
    "set_tag": "loopml.tracking",
    "set_tags": "loopml.tracking",
    "start_run": "loopml.tracking",
    # records and stores
    "Metric": "loopml.entities",
    "Param": "loopml.entities",
    "Project": "loopml.entities",
    "Run": "loopml.entities",
    "RunStatus": "loopml.entities",
    "Tag": "loopml.entities",
    "Store": "loopml.store",
    "open_store": "loopml.store",
    "ObjectStore": "loopml.objects",
    # pipelines
    "step": "loopml.pipelines",
    "pipeline": "loopml.pipelines",
    "sweep": "loopml.pipelines",
}

__all__ = [
    "__version__",
    "data",
    "gates",
    "models",
    "ActiveRun",
    "Metric",
    "ObjectStore",
    "Param",
    "Project",
    "Run",
    "RunStatus",
    "Store",
    "Tag",
    "active_run",
    "configure",
    "delete_run",
    "download_artifacts",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "list_artifacts",
    "list_projects",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "open_store",
    "pipeline",
    "restore_run",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
    "sweep",
]

if TYPE_CHECKING:
    from loopml import data, gates, models
    from loopml.entities import Metric, Param, Project, Run, RunStatus, Tag
    from loopml.objects import ObjectStore
    from loopml.pipelines import pipeline, step, sweep
    from loopml.store import Store, open_store
    from loopml.tracking import (
        ActiveRun,
        active_run,
        configure,
        delete_run,
        download_artifacts,
        end_run,
        flush,
        get_metric_history,
        get_run,
        list_artifacts,
        list_projects,
        log_artifact,
        log_artifacts,
        log_batch,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        restore_run,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )


def __getattr__(name: str) -> Any:
    if name in ("data", "gates", "models"):
        value = importlib.import_module(f"loopml.{name}")
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
