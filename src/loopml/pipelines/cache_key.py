"""Step cache keys: what a step's result depends on, hashed.

A key hashes the step's name, its code (:func:`code_fingerprint`), its params (canonical
JSON), the content hash and materializer of every input, the materializers of its outputs,
the environment it runs in and the user's ``cache_version``. Anything that cannot be hashed
stably disables caching for the step (the key is None and the reason says why): a stale
result is worse than a recomputed one.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import inspect
import math
import os
import re
import sys
import sysconfig
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from loopml.pipelines.refs import ArtifactRef

__all__ = ["KEY_FORMAT", "cache_key", "canonical_params", "code_fingerprint", "project_roots"]

#: Bumped when what goes into a key changes, so old entries are never hit by new code.
KEY_FORMAT = 1
_MAX_DEPTH = 64
#: A memory address or an id() in a repr: different in every process, so not hashed.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}|\bid=['\"]?\d{6,}")


class _UnhashableError(Exception):
    """A value with no stable hash; the message says which and why."""


def cache_key(
    *,
    step: str,
    func: Callable[..., Any],
    params: Mapping[str, Any],
    inputs: Mapping[str, ArtifactRef | Sequence[ArtifactRef]],
    output_materializers: Sequence[str],
    environment: Mapping[str, str] | None,
    cache_version: str | None,
) -> tuple[str | None, str | None]:
    """The cache key of one step execution, or why it has none.

    Args:
        step: The step's name.
        func: The step's function (its source and the project code it calls are hashed).
        params: The step's plain arguments; each must be JSON-able (dicts with str keys,
            lists, tuples, str, int, finite float, bool, None).
        inputs: Outputs of upstream steps feeding this one, by argument name (a list for a
            fan-in); their ``content_hash``, materializer and type are hashed.
        output_materializers: The names of the materializers of the step's outputs.
        environment: What else the result depends on (package versions, ...), or None.
        cache_version: The user's manual invalidation knob (``@step(cache_version="2")``).

    Returns:
        ``(key, None)``, or ``(None, reason)`` when caching is off for this step.

    Example:
        >>> def double(x: int) -> int:
        ...     return 2 * x
        >>> key, reason = cache_key(step="double", func=double, params={"x": 1}, inputs={},
        ...                         output_materializers=["json"], environment=None,
        ...                         cache_version=None)
        >>> len(key) if key else reason  # doctest: +SKIP
        64
    """
    code, why = _fingerprint(func)
    if code is None:
        return None, f"step {step!r}: {why}"
    try:
        param_body = {name: _canonical(value, name) for name, value in params.items()}
    except _UnhashableError as exc:
        return None, f"step {step!r}: {exc}; pass JSON-able params, or use @step(cache=False)"
    body = {
        "format": KEY_FORMAT,
        "step": step,
        "code": code,
        "params": param_body,
        "inputs": {name: _input_body(refs) for name, refs in inputs.items()},
        "outputs": [_materializer_body(name) for name in output_materializers],
        "environment": None if environment is None else {k: environment[k] for k in environment},
        "cache_version": cache_version,
    }
    return _hash_json(body), None


def canonical_params(params: Mapping[str, Any]) -> bytes:
    """The canonical bytes of ``params`` (what keys hash).

    Raises:
        InvalidInputError: a param that is not JSON-able (``field`` names it).

    Example:
        >>> canonical_params({"b": (1, 2), "a": 0.5})
        b'{"a":0.5,"b":{"$tuple":[1,2]}}'
    """
    from loopml.errors import InvalidInputError
    from loopml.pipelines.materializers.json_ import canonical_json

    try:
        return canonical_json({name: _canonical(value, name) for name, value in params.items()})
    except _UnhashableError as exc:
        raise InvalidInputError(str(exc), field=str(exc.args[1])) from exc


def code_fingerprint(func: Callable[..., Any]) -> str | None:
    """A hash of ``func``'s source and of the project code it uses, or None.

    Followed transitively: the functions and classes it names (globals, closures, nested
    functions and lambdas) that are defined in the project -- under the current folder or
    the folder of ``func``'s module, not in site-packages or the standard library, not
    loopml itself -- contribute their source; a project module it names contributes its
    whole file; module-level constants it reads contribute their value (others their
    ``repr`` when that has no memory address, else their type). Library code is covered
    by the environment, not here.

    Returns:
        BLAKE3 hex, the same in every process for the same code; None when a source cannot
        be read (a function typed into a REPL, a C extension, a ``.pyc`` without its
        ``.py``).

    Example:
        >>> def clean(x: int) -> int:
        ...     return x + 1
        >>> code_fingerprint(clean) is None or len(code_fingerprint(clean) or "") == 64
        True
    """
    return _fingerprint(func)[0]


def project_roots(func: Callable[..., Any] | None = None) -> tuple[Path, ...]:
    """The folders whose code counts as the project's: the current folder, and the folder
    of ``func``'s module."""
    roots = [Path.cwd().resolve()]
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    if file:
        roots.append(Path(file).resolve().parent)
    return tuple(dict.fromkeys(roots))


# -- code ------------------------------------------------------------------------------------


def _fingerprint(func: Callable[..., Any]) -> tuple[str | None, str | None]:
    target = inspect.unwrap(func)
    if not isinstance(target, types.FunctionType):
        inner = getattr(target, "func", None) or getattr(target, "__func__", None)
        if isinstance(inner, types.FunctionType):
            target = inner
        else:
            return None, f"{target!r} is not a Python function, so its code cannot be hashed"
    walker = _CodeWalker(project_roots(target))
    try:
        walker.add_function(target)
    except _UnhashableError as exc:
        return None, str(exc)
    return _hash_json(walker.parts), None


class _CodeWalker:
    """Collects ``{"kind:module:qualname": source-or-value}`` for a function and the
    project code it reaches."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self.parts: dict[str, str] = {}
        self._followed: set[tuple[str, str]] = set()
        self._excluded = _library_folders()

    def add_function(self, func: types.FunctionType) -> None:
        key = f"func:{func.__module__}:{func.__qualname__}"
        if key in self.parts:
            return
        self.parts[key] = _source(func)
        self._walk_code(func.__code__, func.__globals__)
        cells = zip(func.__code__.co_freevars, func.__closure__ or (), strict=False)
        for name, cell in cells:
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: the variable is not bound yet
                continue
            self._add_value(f"{func.__module__}.{func.__qualname__}.<{name}>", value)

    def _walk_code(self, code: types.CodeType, namespace: Mapping[str, Any]) -> None:
        names = frozenset(_names(code))
        for name in sorted(names):
            if name not in namespace:
                continue
            value = namespace[name]
            if isinstance(value, types.ModuleType):
                self._add_module(value, names)
            else:
                self._add_value(f"{namespace.get('__name__')}.{name}", value)

    def _add_value(self, label: str, value: Any) -> None:
        if isinstance(value, types.ModuleType):
            self._add_module(value, frozenset())
        elif isinstance(value, types.FunctionType):
            if self._is_project(value):
                self.add_function(value)
        elif isinstance(value, type):
            if self._is_project(value):
                self._add_class(value)
        elif isinstance(value, types.MethodType | staticmethod | classmethod):
            self._add_value(label, value.__func__)
        elif isinstance(value, functools.partial):
            self._add_value(label, value.func)
            self.parts.setdefault(f"value:{label}", _describe((value.args, value.keywords)))
        elif (inner := _unwrapped(value)) is not None:  # lru_cache and other wrappers
            self._add_value(label, inner)
        elif isinstance(value, types.BuiltinFunctionType) or value is builtins:
            return
        else:
            self.parts.setdefault(f"value:{label}", _describe(value))

    def _add_class(self, cls: type) -> None:
        key = f"class:{cls.__module__}:{cls.__qualname__}"
        if key in self.parts:
            return
        self.parts[key] = _source(cls)
        for base in cls.__mro__[1:]:
            if self._is_project(base):
                self._add_class(base)
        for attr in vars(cls).values():
            func = attr.__func__ if isinstance(attr, staticmethod | classmethod) else attr
            if isinstance(func, property):
                func = func.fget
            if isinstance(func, types.FunctionType):
                self._walk_code(func.__code__, func.__globals__)

    def _add_module(self, module: types.ModuleType, names: frozenset[str]) -> None:
        """A project module's whole file, and what the code reaches through it by name
        (``pkg.sub.func`` names ``sub`` and ``func``: both are followed)."""
        file = getattr(module, "__file__", None)
        if not file or not self._is_project_file(file):
            return
        key = f"module:{module.__name__}"
        if key not in self.parts:
            try:
                self.parts[key] = Path(file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise _UnhashableError(
                    f"the source of module {module.__name__} is unreadable: {exc}"
                ) from exc
        namespace = vars(module)
        for name in sorted(names):
            if (module.__name__, name) in self._followed or name not in namespace:
                continue
            self._followed.add((module.__name__, name))
            attr = namespace[name]
            if isinstance(attr, types.ModuleType):
                self._add_module(attr, names)
            elif callable(attr):  # constants are in the file already
                self._add_value(f"{module.__name__}.{name}", attr)

    def _is_project(self, obj: Any) -> bool:
        module_name = getattr(obj, "__module__", None) or ""
        if module_name == "loopml" or module_name.startswith("loopml."):
            return False
        module = sys.modules.get(module_name)
        file = getattr(module, "__file__", None)
        if module_name == "__main__" and not file:
            return True  # typed in a REPL: its source is needed, and unavailable
        return bool(file) and self._is_project_file(str(file))

    def _is_project_file(self, file: str) -> bool:
        path = Path(file).resolve()
        if any(part in ("site-packages", "dist-packages") for part in path.parts):
            return False
        if any(path.is_relative_to(folder) for folder in self._excluded):
            return False
        return any(path.is_relative_to(root) for root in self.roots)


def _unwrapped(value: Any) -> Any:
    """What a wrapper (``functools.wraps``, ``lru_cache``) wraps, else None."""
    if not callable(getattr(value, "__wrapped__", None)):
        return None
    try:
        inner = inspect.unwrap(value)
    except ValueError:  # a cycle (or a mock, whose attributes never end)
        return None
    return None if inner is value else inner


def _names(code: types.CodeType) -> Iterator[str]:
    """Every global/attribute name ``code`` and the code nested in it (lambdas,
    comprehensions, inner functions) refers to."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        name = getattr(obj, "__qualname__", repr(obj))
        raise _UnhashableError(f"the source of {name} is not available ({exc})") from exc


@functools.cache
def _library_folders() -> tuple[Path, ...]:
    """The interpreter's own folders (standard library, installed packages) and loopml's."""
    paths = sysconfig.get_paths()
    folders = {
        paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths
    }
    spec = importlib.util.find_spec("loopml")
    if spec is not None and spec.origin:
        folders.add(os.path.dirname(spec.origin))
    return tuple(Path(folder).resolve() for folder in folders)


def _describe(value: Any) -> str:
    """A stable text for a module-level value a step reads."""
    from loopml.pipelines.materializers.json_ import canonical_json

    try:
        return canonical_json(_canonical(value, "value")).decode("utf-8")
    except (_UnhashableError, ValueError, TypeError):
        pass
    cls = type(value)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break the key
        text = ""
    if text and not _ADDRESS.search(text):
        return f"{cls.__module__}.{cls.__qualname__}:{text}"
    return f"{cls.__module__}.{cls.__qualname__}"


# -- values ----------------------------------------------------------------------------------


def _canonical(value: Any, name: str, depth: int = 0) -> Any:
    """``value`` as plain JSON data, types kept apart (a tuple is not a list).

    Raises:
        _UnhashableError: a value with no stable canonical form.
    """
    if depth > _MAX_DEPTH:
        raise _UnhashableError(f"param {name!r} is nested too deeply to hash", name)
    if value is None or isinstance(value, bool | str):
        out: Any = value
    elif isinstance(value, int):
        out = int(value)
    elif isinstance(value, float):
        out = float(value) if math.isfinite(value) else {"$float": repr(float(value))}
    elif isinstance(value, list):
        out = [_canonical(item, name, depth + 1) for item in value]
    elif isinstance(value, tuple):
        out = {"$tuple": [_canonical(item, name, depth + 1) for item in value]}
    elif isinstance(value, set | frozenset):
        items = [_canonical(item, name, depth + 1) for item in value]
        out = {"$set": sorted(items, key=_sort_key)}
    elif isinstance(value, dict):
        out = _canonical_dict(value, name, depth)
    else:
        cls = type(value)
        raise _UnhashableError(
            f"param {name!r} is a {cls.__module__}.{cls.__qualname__}, which has no stable hash",
            name,
        )
    return out


def _canonical_dict(value: dict[Any, Any], name: str, depth: int) -> Any:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise _UnhashableError(f"param {name!r} has a non-str key {key!r}", name)
        out[key] = _canonical(item, name, depth + 1)
    if any(key.startswith("$") for key in out):
        return {"$dict": out}
    return out


def _sort_key(item: Any) -> bytes:
    from loopml.pipelines.materializers.json_ import canonical_json

    return canonical_json(item)


def _input_body(refs: ArtifactRef | Sequence[ArtifactRef]) -> Any:
    if isinstance(refs, ArtifactRef):
        return _ref_body(refs)
    return [_ref_body(ref) for ref in refs]


def _ref_body(ref: ArtifactRef) -> dict[str, Any]:
    return {
        "content_hash": ref.content_hash,
        "materializer": ref.materializer,
        "materializer_version": ref.materializer_version,
        "type": ref.type_name,
    }


def _materializer_body(name: str) -> dict[str, Any]:
    from loopml.errors import InvalidInputError
    from loopml.pipelines.materializers import get_materializer

    try:
        version: int | None = get_materializer(name).version
    except InvalidInputError:
        version = None
    return {"name": name, "version": version}


def _hash_json(body: Any) -> str:
    from blake3 import blake3

    from loopml.pipelines.materializers.json_ import canonical_json

    return str(blake3(canonical_json(body)).hexdigest())
