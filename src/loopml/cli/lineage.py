"""``loopml lineage URI``: what a version or run was made from, and what was made from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.text import Text
from rich.tree import Tree

from loopml.cli.output import JSON_OPTION, console, emit_json

if TYPE_CHECKING:
    from loopml.data.lineage import Direction, LineageGraph, LineageNode

__all__ = ["command", "render_tree"]

command = typer.Typer(add_completion=False)

_STATUS_STYLE = {"RUNNING": "cyan", "FINISHED": "green", "FAILED": "red", "KILLED": "yellow"}


@command.command()
def lineage(
    uri: Annotated[
        str,
        typer.Argument(
            help="datasets:/name/3, datasets:/name@latest, models:/name/2, or a run id "
            "(runs:/<id>)."
        ),
    ],
    depth: Annotated[
        int, typer.Option("--depth", "-d", min=1, help="How many runs away to go each way.")
    ] = 3,
    direction: Annotated[
        str,
        typer.Option("--direction", help="both, downstream (made from it) or upstream."),
    ] = "both",
    as_json: bool = JSON_OPTION,
) -> None:
    """Walk the lineage graph both ways and print it as a tree (or nodes and edges)."""
    from loopml.data.lineage import lineage as walk

    graph = walk(uri, depth=depth, direction=cast("Direction", direction))
    if as_json:
        emit_json(graph.to_dict())
        return
    console().print(render_tree(graph))


def _label(node: LineageNode) -> Text:
    if node.kind == "run":
        text = Text("run ", style="bold")
        text.append(node.name or "?", style="bold")
        if node.project:
            text.append(f"  {node.project}", style="dim")
        if node.status:
            text.append(f"  {node.status}", style=_STATUS_STYLE.get(node.status, ""))
        text.append(f"  runs:/{node.run_id}", style="dim")
        return text
    return Text(node.id, style="cyan" if node.kind == "dataset" else "magenta")


def render_tree(graph: LineageGraph) -> Tree:
    """The graph as a Rich tree: the root, then what it came from (upstream) and what came
    from it (downstream). A node reached twice is shown once, then referred to."""
    root = graph.nodes[graph.root]
    tree = Tree(_label(root))
    up = graph.upstream(graph.root)
    down = graph.downstream(graph.root)
    if up:
        branch = tree.add(Text("made from (upstream)", style="bold yellow"))
        seen: set[str] = {graph.root}
        for node in up:
            _grow(branch, graph, node, upstream=True, seen=seen)
    if down:
        branch = tree.add(Text("used by (downstream)", style="bold blue"))
        seen = {graph.root}
        for node in down:
            _grow(branch, graph, node, upstream=False, seen=seen)
    if not up and not down:
        tree.add(Text("no lineage recorded", style="dim"))
    return tree


def _grow(
    parent: Tree, graph: LineageGraph, node: LineageNode, *, upstream: bool, seen: set[str]
) -> None:
    if node.id in seen:
        parent.add(_label(node).append("  (shown above)", style="dim"))
        return
    seen.add(node.id)
    branch = parent.add(_label(node))
    for child in graph.upstream(node.id) if upstream else graph.downstream(node.id):
        _grow(branch, graph, child, upstream=upstream, seen=seen)
