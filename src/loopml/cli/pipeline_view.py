"""How ``loopml pipeline show`` draws a pipeline run's DAG in the terminal (Rich)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from rich.tree import Tree

from loopml.cli.output import format_duration
from loopml.entities import Run

__all__ = ["dag_tree", "step_rows"]

_STYLE = {"FINISHED": "green", "FAILED": "red", "RUNNING": "cyan", "KILLED": "yellow"}
_MARK = {"FINISHED": "✔", "FAILED": "✘", "RUNNING": "…", "KILLED": "■"}


def step_rows(dag: Mapping[str, Any], children: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per DAG node: its status, cache use, duration and run (pending: no run)."""
    by_node = {run.tags.get("loopml.node", run.name): run for run in children}
    rows = []
    for node in dag.get("nodes", []):
        run = by_node.get(node["name"])
        rows.append(
            {
                "name": node["name"],
                "step": node["step"],
                "upstream": list(node.get("upstream", [])),
                "group": node.get("group"),
                "status": run.status.value if run else "PENDING",
                "cache": run.tags.get("loopml.cache") if run else None,
                "cache_key": (run.tags.get("loopml.cache_key") or None) if run else None,
                "duration_ms": run.duration_ms if run else None,
                "attempts": int(run.tags.get("loopml.attempts", "1")) if run else 0,
                "run_id": run.id if run else None,
            }
        )
    return rows


def _label(row: Mapping[str, Any], extra: Sequence[str]) -> Text:
    status = row["status"]
    style = _STYLE.get(status, "dim")
    text = Text()
    text.append(f"{_MARK.get(status, '·')} ", style=style)
    text.append(row["name"], style="bold")
    text.append(f"  {status}", style=style)
    if row["duration_ms"] is not None:
        text.append(f"  {format_duration(row['duration_ms'])}")
    cache = row["cache"]
    if cache:
        text.append(f"  cache {cache}", style="green" if cache == "hit" else "dim")
    if row["attempts"] > 1:
        text.append(f"  {row['attempts']} attempts", style="yellow")
    if extra:
        text.append(f"  (also after {', '.join(extra)})", style="dim")
    return text


def _group_label(name: str, rows: Sequence[Mapping[str, Any]]) -> Text:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    hits = sum(1 for row in rows if row["cache"] == "hit")
    status = (
        "FAILED"
        if "FAILED" in counts
        else ("FINISHED" if counts.get("FINISHED") == len(rows) else "RUNNING")
    )
    text = Text()
    text.append(f"{_MARK.get(status, '·')} ", style=_STYLE.get(status, "dim"))
    text.append(f"{name}.map", style="bold")
    text.append(f"  x{len(rows)}  ")
    text.append(", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())))
    text.append(f"  cache {hits}/{len(rows)} hit", style="dim")
    return text


def dag_tree(run: Run, rows: Sequence[Mapping[str, Any]]) -> Tree:
    """The DAG as a tree: each node under its last upstream node (other upstreams named);
    the items of a ``.map()`` under one group line."""
    title = Text()
    title.append(f"{run.tags.get('loopml.pipeline', run.name)}", style="bold")
    title.append(f"  {run.id}  ")
    title.append(run.status.value, style=_STYLE.get(run.status.value, ""))
    title.append(f"  {format_duration(run.duration_ms)}")
    root = Tree(title)
    group_of = {row["name"]: row["group"] for row in rows}
    unit = {name: (f"{group}.map" if group else name) for name, group in group_of.items()}
    branches: dict[str, Tree] = {}
    group_rows: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["group"]:
            group_rows.setdefault(row["group"], []).append(row)
    for row in rows:
        ups = list(dict.fromkeys(unit[u] for u in row["upstream"] if u in unit))
        key = unit[row["name"]]
        if key in branches and row["group"]:
            branches[key].add(_label(row, []))
            continue
        parent_key = ups[-1] if ups else None
        parent = branches.get(parent_key, root) if parent_key else root
        extra = list(ups[:-1])
        if row["group"]:
            group = parent.add(_group_label(row["group"], group_rows[row["group"]]))
            if extra:
                group.label.append(f"  (also after {', '.join(extra)})", style="dim")  # type: ignore[union-attr]
            branches[key] = group
            group.add(_label(row, []))
        else:
            branches[key] = parent.add(_label(row, extra))
    return root
