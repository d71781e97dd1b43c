"""The static DAG a ``@pipeline`` body builds: nodes, and the placeholders steps return.

Inside a pipeline body a step call does not run anything: it adds a :class:`Node` to the
active :class:`GraphBuilder` and returns :class:`StepOutput` placeholders. Passing a
placeholder to another step makes an edge. Nodes can only consume placeholders that already
exist, so the graph is acyclic by construction and insertion order is a topological order.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInputError

if TYPE_CHECKING:
    from loopml.pipelines.step import Step

__all__ = ["Graph", "GraphBuilder", "MapOutput", "Node", "StepOutput", "StepOutputs"]

_HINT = "a pipeline body only wires steps together; use the value inside a step"


@dataclass(frozen=True, slots=True)
class StepOutput:
    """A placeholder for one output of a step that has not run yet."""

    node: str
    output: str

    def __repr__(self) -> str:
        return f"<StepOutput {self.node}.{self.output}>"

    def __bool__(self) -> bool:
        raise InvalidInputError(
            f"the output of {self.node!r} has no value while the pipeline is being built",
            field=self.node,
            hint=_HINT,
        )

    def __iter__(self) -> Iterator[Any]:
        raise InvalidInputError(
            f"step {self.node!r} has one output; it cannot be unpacked",
            field=self.node,
            hint='name several outputs with tuple[Annotated[A, "a"], Annotated[B, "b"]]',
        )


class StepOutputs:
    """The outputs of a step returning a dataclass: one placeholder per field.

    ``outputs.model`` or ``outputs["model"]`` is the placeholder of the field ``model``.
    """

    def __init__(self, node: str, outputs: Mapping[str, StepOutput]) -> None:
        self._node = node
        self._outputs = dict(outputs)

    def __getattr__(self, name: str) -> StepOutput:
        try:
            return self._outputs[name]
        except KeyError:
            raise AttributeError(
                f"step {self._node!r} has no output {name!r} (it has {sorted(self._outputs)})"
            ) from None

    def __getitem__(self, name: str) -> StepOutput:
        return self.__getattr__(name)

    def __iter__(self) -> Iterator[StepOutput]:
        return iter(self._outputs.values())

    def __repr__(self) -> str:
        return f"<StepOutputs {self._node} {sorted(self._outputs)}>"


@dataclass(frozen=True, slots=True)
class MapOutput:
    """The results of ``step.map(items)``: one per item. Passing it to a step fans in (the
    step receives a list); ``step2.map(mapped)`` maps item by item."""

    group: str
    results: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> Any:
        return self.results[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.results)

    def __repr__(self) -> str:
        return f"<MapOutput {self.group} x{len(self.results)}>"


@dataclass
class Node:
    """One step execution in the graph."""

    name: str
    step: Step[..., Any]
    params: dict[str, Any]
    inputs: dict[str, StepOutput | list[StepOutput]]
    group: str | None = None
    index: int | None = None
    upstream: tuple[str, ...] = ()
    materializers: dict[str, str] = field(default_factory=dict)
    dataset_params: tuple[str, ...] = ()


@dataclass
class Graph:
    """The nodes of one pipeline, in a topological order."""

    pipeline: str
    nodes: dict[str, Node] = field(default_factory=dict)

    def downstream(self) -> dict[str, list[str]]:
        """Node name -> the nodes that consume its outputs."""
        down: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            for up in node.upstream:
                down[up].append(node.name)
        return down

    def to_dict(self) -> dict[str, Any]:
        """The graph as JSON: what ``loopml pipeline show`` draws."""
        return {
            "pipeline": self.pipeline,
            "nodes": [
                {
                    "name": n.name,
                    "step": n.step.name,
                    "upstream": list(n.upstream),
                    "group": n.group,
                    "index": n.index,
                }
                for n in self.nodes.values()
            ],
        }


_active: contextvars.ContextVar[GraphBuilder | None] = contextvars.ContextVar(
    "loopml_pipeline_builder", default=None
)


def active_builder() -> GraphBuilder | None:
    """The builder of the pipeline body being run, or None outside one."""
    return _active.get()


def _as_input(value: Any, where: str) -> StepOutput | list[StepOutput] | None:
    """The placeholder(s) ``value`` stands for, or None for a constant."""
    if isinstance(value, StepOutput):
        return value
    if isinstance(value, MapOutput):
        value = list(value.results)
    elif isinstance(value, StepOutputs):
        raise InvalidInputError(
            f"{where}: pass one output of {value._node!r}, not all of them",
            field=where,
            hint="e.g. result.model",
        )
    if isinstance(value, list | tuple) and value:
        kinds = [isinstance(item, StepOutput) for item in value]
        if all(kinds):
            return list(value)
        if any(kinds) or any(isinstance(i, StepOutputs | tuple) for i in value):
            raise InvalidInputError(
                f"{where}: a list mixes step outputs with other values",
                field=where,
                hint="a fan-in list must hold only single step outputs",
            )
    if isinstance(value, dict) and any(
        isinstance(v, StepOutput | MapOutput | StepOutputs) for v in value.values()
    ):
        raise InvalidInputError(
            f"{where}: step outputs inside a dict are not supported",
            field=where,
            hint="pass each output as its own parameter, or a list of outputs",
        )
    return None


class GraphBuilder:
    """Collects nodes while a pipeline body runs (``with GraphBuilder(name) as b:``)."""

    def __init__(self, pipeline: str) -> None:
        self.graph = Graph(pipeline)
        self._counts: dict[str, int] = {}
        self._token: contextvars.Token[GraphBuilder | None] | None = None

    def __enter__(self) -> GraphBuilder:
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _active.reset(self._token)

    def unique_name(self, base: str) -> str:
        """``base``, then ``base_2``, ``base_3``... for repeated calls."""
        count = self._counts.get(base, 0) + 1
        self._counts[base] = count
        return base if count == 1 else f"{base}_{count}"

    def add(
        self,
        step: Step[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        name: str | None = None,
        group: str | None = None,
        index: int | None = None,
    ) -> Any:
        """Add one call of ``step``; return its placeholder(s)."""
        node_name = name or self.unique_name(step.name)
        params: dict[str, Any] = {}
        inputs: dict[str, StepOutput | list[StepOutput]] = {}
        for key, value in step.bind(args, kwargs).items():
            ref = _as_input(value, f"{node_name}.{key}")
            if ref is None:
                params[key] = value
            else:
                inputs[key] = ref
        upstream: list[str] = []
        for ref in inputs.values():
            for item in ref if isinstance(ref, list) else [ref]:
                if item.node not in self.graph.nodes:
                    raise InvalidInputError(
                        f"{node_name}: {item!r} is not from this pipeline", field=node_name
                    )
                if item.node not in upstream:
                    upstream.append(item.node)
        datasets = tuple(
            key
            for key, value in params.items()
            if isinstance(value, str) and value.startswith("datasets:/")
        )
        node = Node(node_name, step, params, inputs, group, index, tuple(upstream), {}, datasets)
        self.graph.nodes[node_name] = node
        return step.placeholders(node_name)
