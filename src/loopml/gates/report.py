"""The gate's verdict and everything behind it, as JSON, Markdown and JUnit XML.

JSON is for scripts, Markdown for a CI bot to post on the pull request (or append to
``$GITHUB_STEP_SUMMARY``), JUnit XML for CI systems that show test results (one test case per
check; a failed check is a failure, a skipped one is skipped).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from loopml.gates.bootstrap import BootstrapResult
from loopml.gates.criteria import Check
from loopml.gates.latency import LatencyResult
from loopml.gates.metrics import Task, metric_names
from loopml.gates.slices import SliceResult

__all__ = ["REPORT_FILES", "DataRef", "GateReport", "ModelRef"]

#: what :meth:`GateReport.write` writes, by format
REPORT_FILES = {"json": "report.json", "markdown": "report.md", "junit": "junit.xml"}


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model as given (``uri``) and as resolved (``models:/name/3``), when registered."""

    uri: str
    resolved: str | None = None
    name: str | None = None
    version: int | None = None

    @property
    def shown(self) -> str:
        """The resolved URI, with the given one beside it when they differ."""
        if self.resolved and self.resolved != self.uri:
            return f"{self.resolved} ({self.uri})"
        return self.uri


@dataclass(frozen=True, slots=True)
class DataRef:
    """The evaluation data: the URI given, the version it resolved to, its row count."""

    uri: str
    resolved: str | None
    rows: int


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


_DASH = "-"


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return _DASH
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}


@dataclass(frozen=True)
class GateReport:
    """The result of :func:`loopml.gates.run_gate`.

    ``passed`` is True when no check failed. ``metrics`` maps ``challenger`` (and
    ``champion``) to each metric's value on the whole evaluation data.
    """

    passed: bool
    task: Task
    target: str
    challenger: ModelRef
    data: DataRef
    checks: list[Check]
    metrics: dict[str, dict[str, float | None]]
    champion: ModelRef | None = None
    champion_note: str | None = None
    bootstrap: list[BootstrapResult] = field(default_factory=list)
    slices: list[SliceResult] = field(default_factory=list)
    latency: dict[str, LatencyResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    promoted: str | None = None
    created_at: int | None = None

    @property
    def failed_checks(self) -> list[Check]:
        """The checks that failed (empty when the gate passed)."""
        return [c for c in self.checks if c.status == "failed"]

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything in the report as JSON-able values (NaN becomes None)."""
        value = {
            "passed": self.passed,
            "task": self.task,
            "target": self.target,
            "challenger": asdict(self.challenger),
            "champion": None if self.champion is None else asdict(self.champion),
            "champion_note": self.champion_note,
            "data": asdict(self.data),
            "checks": [c.to_dict() for c in self.checks],
            "metrics": self.metrics,
            "bootstrap": [b.to_dict() for b in self.bootstrap],
            "slices": [s.to_dict() for s in self.slices],
            "latency": {k: v.to_dict() for k, v in self.latency.items()},
            "notes": list(self.notes),
            "settings": dict(self.settings),
            "promoted": self.promoted,
            "created_at": self.created_at,
        }
        cleaned: dict[str, Any] = _finite(value)
        return cleaned

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str) + "\n"

    # -- Markdown -------------------------------------------------------------------------
    def to_markdown(self) -> str:
        """A summary a CI bot can post on a pull request."""
        verdict = "passed" if self.passed else "failed"
        lines = [
            f"## {_ICON[verdict]} loopml gate {verdict}",
            "",
            f"**Challenger** `{self.challenger.shown}` "
            + (
                f"vs **champion** `{self.champion.shown}`"
                if self.champion
                else "with **no champion**"
            )
            + f" on `{self.data.resolved or self.data.uri}` ({self.data.rows:,} rows, "
            f"target `{self.target}`, {self.task}).",
        ]
        if self.champion_note:
            lines += ["", f"> {self.champion_note}"]
        if self.promoted:
            lines += ["", f"**Promoted:** {self.promoted}"]
        lines += ["", "### Checks", ""]
        if self.checks:
            lines.append(_row(["", "check", "value", "threshold", "detail"]))
            lines.append("|---|---|---|---|---|")
            for c in self.checks:
                lines.append(
                    _row([_ICON[c.status], c.name, _fmt(c.value), _fmt(c.threshold), c.detail])
                )
        else:
            lines.append("No checks were requested.")
        lines += self._metrics_md() + self._slices_md() + self._latency_md()
        if self.notes:
            lines += ["", "### Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def _metrics_md(self) -> list[str]:
        champion = self.metrics.get("champion")
        challenger = self.metrics.get("challenger", {})
        by_metric = {b.metric: b for b in self.bootstrap}
        level = f"{self.settings.get('confidence', 0.95):.0%}"
        lines = ["", "### Metrics", ""]
        if champion is None:
            lines += [_row(["metric", "challenger"]), "|---|---|"]
            lines += [_row([m, _fmt(challenger.get(m))]) for m in metric_names(self.task)]
            return lines
        lines += [
            _row(["metric", "champion", "challenger", "Δ", f"{level} CI of Δ", "verdict"]),
            "|---|---|---|---|---|---|",
        ]
        for m in metric_names(self.task):
            a, b = champion.get(m), challenger.get(m)
            boot = by_metric.get(m)
            delta = None if a is None or b is None else b - a
            ci = f"[{_fmt(boot.ci_low)}, {_fmt(boot.ci_high)}]" if boot else _DASH
            lines.append(
                _row([m, _fmt(a), _fmt(b), _fmt(delta), ci, boot.summary if boot else _DASH])
            )
        return lines

    def _slice_metric_names(self) -> list[str]:
        named = [c.metric for c in self.checks if c.metric and c.kind != "require"]
        named += [c.metric for c in self.checks if c.metric]
        chosen = list(dict.fromkeys(named)) or list(metric_names(self.task))
        return chosen[:4]

    def _slices_md(self) -> list[str]:
        if not self.slices:
            return []
        names = self._slice_metric_names()
        arrow = " (champion → challenger)" if self.champion else ""
        lines = ["", f"### Slices{arrow}", "", _row(["slice", "rows", *names])]
        lines.append("|" + "---|" * (2 + len(names)))
        for s in self.slices:
            if not s.evaluated:
                lines.append(_row([s.label, s.rows] + ["too few rows"] + [""] * (len(names) - 1)))
                continue
            cells: list[object] = [s.label, s.rows]
            for m in names:
                b = _fmt(s.challenger.get(m))
                cells.append(f"{_fmt(s.champion.get(m))} → {b}" if s.champion is not None else b)
            lines.append(_row(cells))
        return lines

    def _latency_md(self) -> list[str]:
        if not self.latency:
            return []
        lines = ["", "### Latency of `predict`", ""]
        lines += [
            _row(["model", "batch rows", "p50 ms", "p95 ms", "p99 ms"]),
            "|---|---|---|---|---|",
        ]
        for who, lat in self.latency.items():
            cells = [who, lat.batch_rows, _fmt(lat.p50_ms), _fmt(lat.p95_ms), _fmt(lat.p99_ms)]
            lines.append(_row(cells))
        return lines

    # -- JUnit XML ------------------------------------------------------------------------
    def to_junit_xml(self) -> str:
        """One ``testcase`` per check, a ``failure`` for each failed check."""
        failures = len(self.failed_checks)
        skipped = sum(c.skipped for c in self.checks)
        suites = ET.Element("testsuites", name="loopml gate")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="loopml gate",
            tests=str(len(self.checks)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("challenger", self.challenger.resolved or self.challenger.uri),
            ("champion", (self.champion.resolved or self.champion.uri) if self.champion else ""),
            ("data", self.data.resolved or self.data.uri),
            ("target", self.target),
            ("task", self.task),
        ):
            ET.SubElement(props, "property", name=name, value=value)
        for check in self.checks:
            case = ET.SubElement(
                suite, "testcase", classname=f"loopml.gate.{check.kind}", name=check.name
            )
            if check.status == "failed":
                failure = ET.SubElement(
                    case, "failure", message=check.detail, type=f"gate.{check.kind}"
                )
                failure.text = check.detail
            elif check.skipped:
                ET.SubElement(case, "skipped", message=check.detail)
        ET.indent(suites)
        body = ET.tostring(suites, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"

    # -- files ----------------------------------------------------------------------------
    def write(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write report.json, report.md and junit.xml into ``directory`` (created if needed).

        Returns:
            The path written for each format (``json``, ``markdown``, ``junit``).
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        texts = {
            "json": self.to_json(),
            "markdown": self.to_markdown(),
            "junit": self.to_junit_xml(),
        }
        written = {}
        for kind, text in texts.items():
            path = folder / REPORT_FILES[kind]
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            Path(tmp).replace(path)
            written[kind] = path
        return written
