"""Gates: may a challenger model replace the champion? The CI/CD decision, with evidence.

Example:
    >>> import loopml.gates
    >>> report = loopml.gates.run_gate(                                  # doctest: +SKIP
    ...     "models:/churn@challenger", against="models:/churn@champion",
    ...     data="datasets:/churn-eval@latest", target="churned",
    ...     require=["accuracy>=0.9"], max_regression=["f1:0.01"], slices=["region"])
    >>> report.passed, report.write("gate-report")                      # doctest: +SKIP

Functions are imported on first use, so ``import loopml.gates`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "run_gate": "loopml.gates.gate",
    "GateReport": "loopml.gates.report",
    "GateSpec": "loopml.gates.evaluate",
    "evaluate_models": "loopml.gates.evaluate",
}

__all__ = ["GateReport", "GateSpec", "evaluate_models", "run_gate"]

if TYPE_CHECKING:
    from loopml.gates.evaluate import GateSpec, evaluate_models
    from loopml.gates.gate import run_gate
    from loopml.gates.report import GateReport

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
