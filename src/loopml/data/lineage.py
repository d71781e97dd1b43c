"""Lineage: which runs read and wrote which versions, walked both ways.

Every dataset version a run reads is an ``input`` edge (run ← version); every dataset or
model version a run writes is an ``output`` edge (run → version). :func:`lineage` starts
from a dataset version, a model version or a run and walks

- downstream: a version → the runs that read it → what those runs wrote → …
- upstream: a version → the runs that wrote it → what those runs read → …

breadth-first, with one batched store call per level and direction set (plus one
``get_runs`` call for the run details at the end). ``depth`` counts runs: depth 1 from a
dataset shows the runs that read it and what they wrote (and the runs that wrote it and what
they read); from a run, depth 1 is what it read and wrote.

Example:
    >>> g = loopml.data.lineage("datasets:/churn-raw@latest", depth=3)  # doctest: +SKIP
    >>> [n.id for n in g.downstream(g.root)]                            # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from loopml.data.tables import resolve_version
from loopml.entities import LineageEdge, Run
from loopml.errors import InvalidInputError, NotFoundError
from loopml.store import Store
from loopml.tracking.context import TrackingContext, get_context

__all__ = ["Direction", "LineageGraph", "LineageLink", "LineageNode", "lineage", "parse_root"]

Direction = Literal["both", "downstream", "upstream"]
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_MODEL_URI = re.compile(r"models:/([A-Za-z0-9][A-Za-z0-9._-]{0,127})/([1-9][0-9]*)")
_RUN_SCHEME = "runs:/"


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A version or a run in the graph.

    ``id`` is the version's URI (``datasets:/name/3``, ``models:/name/2``) or ``runs:/<id>``;
    ``distance`` is the number of edges from the root, negative upstream.
    """

    id: str
    kind: Literal["dataset", "model", "run", "other"]
    distance: int
    name: str | None = None
    version: int | None = None
    run_id: str | None = None
    project: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class LineageLink:
    """Data flowing from ``source`` to ``target``: a version read by a run (``input``) or a
    run writing a version (``output``)."""

    source: str
    target: str
    direction: str


@dataclass
class LineageGraph:
    """The nodes and links found from ``root`` (see :func:`lineage`)."""

    root: str
    depth: int
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    links: list[LineageLink] = field(default_factory=list)

    def downstream(self, node_id: str) -> list[LineageNode]:
        """The nodes ``node_id`` flows into (runs that read it, versions a run wrote)."""
        return [self.nodes[link.target] for link in self.links if link.source == node_id]

    def upstream(self, node_id: str) -> list[LineageNode]:
        """The nodes that flow into ``node_id`` (runs that wrote it, versions a run read)."""
        return [self.nodes[link.source] for link in self.links if link.target == node_id]

    def to_dict(self) -> dict[str, Any]:
        """``{"root", "depth", "nodes": [...], "edges": [{"from", "to", "direction"}]}``."""
        return {
            "root": self.root,
            "depth": self.depth,
            "nodes": [asdict(n) for n in self.nodes.values()],
            "edges": [
                {"from": link.source, "to": link.target, "direction": link.direction}
                for link in self.links
            ],
        }


def _run_node_id(run_id: str) -> str:
    return f"{_RUN_SCHEME}{run_id}"


def _ref_node(ref: str, distance: int) -> LineageNode:
    if ref.startswith("datasets:/"):
        name, _, number = ref[len("datasets:/") :].rpartition("/")
        if number.isdigit():
            return LineageNode(ref, "dataset", distance, name=name, version=int(number))
    if match := _MODEL_URI.fullmatch(ref):
        return LineageNode(ref, "model", distance, name=match[1], version=int(match[2]))
    return LineageNode(ref, "other", distance)


def parse_root(uri: str, ctx: TrackingContext) -> str:
    """The node id the walk starts from: a resolved ``datasets:/name/<n>``, a
    ``models:/name/<n>``, or ``runs:/<id>`` (also accepted as a bare 32-hex run id).

    Raises:
        InvalidInputError: the URI is none of these (``field="uri"``).
        NotFoundError: an unknown dataset, version or run.
    """
    hint = (
        "give datasets:/<name>/<version>, datasets:/<name>@latest, models:/<name>/<version> "
        "or a run id (runs:/<id>)"
    )
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError("lineage needs a URI", field="uri", hint=hint)
    text = uri.strip()
    if text.startswith("datasets:"):
        return resolve_version(ctx, text).uri
    if text.startswith("models:"):
        if not _MODEL_URI.fullmatch(text):
            raise InvalidInputError(
                f"not a model version URI: {text!r}",
                field="uri",
                uri=text,
                hint="write models:/<name>/<version> (aliases are not resolved here yet)",
            )
        return text
    run_id = text[len(_RUN_SCHEME) :] if text.startswith(_RUN_SCHEME) else text
    if _RUN_ID.fullmatch(run_id):
        try:
            ctx.store.get_runs([run_id])
        except NotFoundError as exc:
            raise NotFoundError(f"no run {run_id}", run_id=run_id, uri=text) from exc
        return _run_node_id(run_id)
    raise InvalidInputError(f"not a lineage URI: {text!r}", field="uri", uri=text, hint=hint)


def lineage(uri: str, *, depth: int = 3, direction: Direction = "both") -> LineageGraph:
    """Walk the lineage graph from a dataset version, a model version or a run.

    Args:
        uri: ``datasets:/name/3``, ``datasets:/name@latest`` (resolved to its number),
            ``models:/name/2``, ``runs:/<id>`` or a bare run id.
        depth: How many runs away to go in each direction (at least 1).
        direction: ``both``, ``downstream`` (what was made from it) or ``upstream`` (what it
            was made from).

    Returns:
        A :class:`LineageGraph`; run nodes carry name, project and status.

    Raises:
        InvalidInputError: a malformed URI, a depth below 1 or an unknown direction.
        NotFoundError: an unknown dataset, version or run.

    Example:
        >>> g = loopml.data.lineage("datasets:/churn-features/2")  # doctest: +SKIP
        >>> g.to_dict()["edges"]                                    # doctest: +SKIP
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InvalidInputError(f"depth must be a positive integer, not {depth!r}", field="depth")
    if direction not in ("both", "downstream", "upstream"):
        raise InvalidInputError(
            f"unknown direction {direction!r}",
            field="direction",
            hint="use both, downstream or upstream",
        )
    ctx = get_context()
    store = ctx.store
    root = parse_root(uri, ctx)
    root_is_run = root.startswith(_RUN_SCHEME)
    graph = LineageGraph(root=root, depth=depth)
    graph.nodes[root] = (
        LineageNode(root, "run", 0, run_id=root[len(_RUN_SCHEME) :])
        if root_is_run
        else _ref_node(root, 0)
    )
    # Hops per direction: ref -> run -> ref is one run deep; a run root is half a step in.
    hops = 2 * depth - 1 if root_is_run else 2 * depth
    down = {root} if direction in ("both", "downstream") else set()
    up = {root} if direction in ("both", "upstream") else set()
    seen_down, seen_up = set(down), set(up)
    links: dict[tuple[str, str], LineageLink] = {}
    on_runs = root_is_run
    for hop in range(1, hops + 1):
        if not down and not up:
            break
        edges = _edges(store, down | up, on_runs)
        next_down: set[str] = set()
        next_up: set[str] = set()
        for edge in edges:
            run_node = _run_node_id(edge.run_id)
            node = run_node if on_runs else edge.ref
            other = edge.ref if on_runs else run_node
            if node not in down and node not in up:
                continue
            # Flow: input = ref -> run, output = run -> ref.
            source, target = (
                (edge.ref, run_node) if edge.direction == "input" else (run_node, edge.ref)
            )
            if node in down and source == node:
                links.setdefault((source, target), LineageLink(source, target, edge.direction))
                if other not in seen_down:
                    seen_down.add(other)
                    next_down.add(other)
                    _add_node(graph, other, hop)
            if node in up and target == node:
                links.setdefault((source, target), LineageLink(source, target, edge.direction))
                if other not in seen_up:
                    seen_up.add(other)
                    next_up.add(other)
                    _add_node(graph, other, -hop)
        down, up = next_down, next_up
        on_runs = not on_runs
    graph.links = sorted(links.values(), key=lambda link: (link.source, link.target))
    _fill_runs(store, graph)
    return graph


def _edges(store: Store, nodes: Iterable[str], on_runs: bool) -> list[LineageEdge]:
    if on_runs:
        return store.lineage_of_runs(sorted(n[len(_RUN_SCHEME) :] for n in nodes))
    return store.lineage_of_refs(sorted(nodes))


def _add_node(graph: LineageGraph, node_id: str, distance: int) -> None:
    if node_id in graph.nodes:
        return
    if node_id.startswith(_RUN_SCHEME):
        graph.nodes[node_id] = LineageNode(
            node_id, "run", distance, run_id=node_id[len(_RUN_SCHEME) :]
        )
    else:
        graph.nodes[node_id] = _ref_node(node_id, distance)


def _fill_runs(store: Store, graph: LineageGraph) -> None:
    """Name, project and status of every run node, in one ``get_runs`` call."""
    run_ids = [n.run_id for n in graph.nodes.values() if n.run_id is not None]
    if not run_ids:
        return
    try:
        runs: dict[str, Run] = {r.id: r for r in store.get_runs(run_ids)}
    except NotFoundError:  # a run purged after its edges were written: fetch one by one
        runs = {}
        for run_id in run_ids:
            try:
                runs[run_id] = store.get_run(run_id)
            except NotFoundError:
                continue
    for node_id, node in list(graph.nodes.items()):
        if node.run_id is None:
            continue
        run = runs.get(node.run_id)
        graph.nodes[node_id] = LineageNode(
            node.id,
            "run",
            node.distance,
            name=run.name if run else "(purged)",
            run_id=node.run_id,
            project=run.project if run else None,
            status=run.status.value if run else None,
        )
