"""``@step``: a function whose calls inside a ``@pipeline`` body become DAG nodes.

Outside a pipeline body a step is its plain function: calling it just calls it, which is
handy in notebooks and tests.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from loopml.errors import InvalidInputError
from loopml.pipelines.dag import MapOutput, StepOutput, StepOutputs, active_builder

if TYPE_CHECKING:
    from loopml.pipelines.outputs import _Shape

__all__ = ["Step", "step"]

P = ParamSpec("P")
R = TypeVar("R")


class Step(Generic[P, R]):
    """A step: the function plus how the engine runs it. Made by :func:`step`.

    Attributes:
        func: The plain function.
        name: Step name (the function name unless given).
        retries: Extra attempts after a failure.
        backoff: Seconds before the first retry; doubled for each next one.
        cache: Reuse outputs when the cache key matches.
        cache_version: Bump it to invalidate cached outputs by hand.
        allow_pickle: Let outputs no safe materializer handles be pickled.
        environment: Declared environment (e.g. package versions), part of the cache key.
    """

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        retries: int = 0,
        backoff: float = 0.5,
        cache: bool = True,
        cache_version: str | None = None,
        allow_pickle: bool = False,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        if not callable(func):
            raise InvalidInputError(f"@step needs a function, got {func!r}", field="step")
        functools.update_wrapper(self, func)
        self.func = func
        self.name: str = str(name or getattr(func, "__name__", "step"))
        if retries < 0 or backoff < 0:
            raise InvalidInputError(
                f"step {self.name!r}: retries and backoff must be >= 0", field="retries"
            )
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.cache = bool(cache)
        self.cache_version = cache_version
        self.allow_pickle = bool(allow_pickle)
        self.environment = dict(environment) if environment else None
        self.signature = inspect.signature(func)
        for param in self.signature.parameters.values():
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                raise InvalidInputError(
                    f"step {self.name!r}: *{param.name} is not supported",
                    field=f"{self.name}.{param.name}",
                    hint="give every input a name",
                )
        self._shape: _Shape | None = None

    def __repr__(self) -> str:
        return f"<Step {self.name}>"

    @property
    def shape(self) -> _Shape:
        """How the return value splits into named outputs (read on first use)."""
        if self._shape is None:
            from loopml.pipelines.outputs import shape_of

            self._shape = shape_of(self.func, self.name)
        return self._shape

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = active_builder()
        if builder is None:
            return self.func(*args, **kwargs)
        return builder.add(self, args, kwargs)  # type: ignore[no-any-return]

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments by parameter name, defaults filled in (``**kwargs`` flattened)."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInputError(
                f"step {self.name!r}: {exc}",
                field=self.name,
                hint=f"its signature is {self.name}{self.signature}",
            ) from None
        bound.apply_defaults()
        values: dict[str, Any] = {}
        for key, value in bound.arguments.items():
            if self.signature.parameters[key].kind is inspect.Parameter.VAR_KEYWORD:
                values.update(value)
            else:
                values[key] = value
        return values

    def placeholders(self, node: str) -> Any:
        """What a call inside a pipeline body returns for the node ``node``."""
        shape = self.shape
        if shape.kind == "none":
            return None
        if shape.kind == "single":
            return StepOutput(node, shape.specs[0].name)
        if shape.kind == "tuple":
            return tuple(StepOutput(node, spec.name) for spec in shape.specs)
        return StepOutputs(node, {spec.name: StepOutput(node, spec.name) for spec in shape.specs})

    def _item_param(self, common: Mapping[str, Any]) -> str:
        for param in self.signature.parameters.values():
            if param.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
                continue
            if param.name not in common:
                return param.name
        raise InvalidInputError(
            f"{self.name}.map(): every parameter is already given, none is left for the items",
            field=self.name,
            hint=f"its signature is {self.name}{self.signature}",
        )

    def map(self, items: Iterable[Any] | MapOutput, /, **common: Any) -> Any:
        """Run the step once per item (fan-out); ``common`` goes to every call.

        The item goes to the first parameter not in ``common``. Inside a pipeline this
        returns a :class:`MapOutput`; passing it to another step fans in (that step
        receives a list). Outside a pipeline it returns the list of results.

        Example:
            >>> @step
            ... def square(x: int) -> int:
            ...     return x * x
            >>> square.map([1, 2, 3])
            [1, 4, 9]
        """
        param = self._item_param(common)
        values = list(items.results if isinstance(items, MapOutput) else items)
        builder = active_builder()
        if builder is None:
            func: Callable[..., R] = self.func
            return [func(**{param: item, **common}) for item in values]
        group = builder.unique_name(self.name)
        results = tuple(
            builder.add(
                self, (), {param: item, **common}, name=f"{group}[{i}]", group=group, index=i
            )
            for i, item in enumerate(values)
        )
        return MapOutput(group, results)


@overload
def step(func: Callable[P, R], /) -> Step[P, R]: ...
@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: float = 0.5,
    cache: bool = True,
    cache_version: str | None = None,
    allow_pickle: bool = False,
    environment: Mapping[str, str] | None = None,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...
def step(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    backoff: float = 0.5,
    cache: bool = True,
    cache_version: str | None = None,
    allow_pickle: bool = False,
    environment: Mapping[str, str] | None = None,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make a function a pipeline step: ``@step`` or ``@step(retries=2, ...)``.

    Args:
        func: The function (when used as ``@step``).
        name: Step name; the function name by default.
        retries: Extra attempts after a failure (with exponential backoff).
        backoff: Seconds before the first retry; doubled for each next one.
        cache: With False the step always runs.
        cache_version: Part of the cache key; change it to invalidate by hand.
        allow_pickle: Allow pickling outputs that no safe materializer handles.
        environment: Declared environment (e.g. ``{"sklearn": "1.5"}``), part of the key.

    Returns:
        A :class:`Step`; calling it outside a pipeline calls the function.

    Example:
        >>> @step(retries=2)
        ... def add(a: int, b: int) -> int:
        ...     return a + b
        >>> add(1, 2)
        3
    """
    options: dict[str, Any] = {
        "name": name,
        "retries": retries,
        "backoff": backoff,
        "cache": cache,
        "cache_version": cache_version,
        "allow_pickle": allow_pickle,
        "environment": environment,
    }
    if func is not None:
        return Step(func, **options)

    def decorate(inner: Callable[P, R]) -> Step[P, R]:
        return Step(inner, **options)

    return decorate
