"""Cache keys: equal when nothing changed (in any process, any dict order), different when
the step's code, a project helper it calls, a param, an input, the cache version or a
materializer changes; None (caching off, with the reason) when something cannot be hashed."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loopml.errors import InvalidInputError
from loopml.pipelines.cache_key import cache_key, canonical_params, code_fingerprint
from loopml.pipelines.refs import ArtifactRef


def _sample(x: int, scale: float = 1.0) -> float:
    return x * scale


def key_of(
    func: Callable[..., Any] = _sample,
    *,
    params: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    outputs: tuple[str, ...] = ("json",),
    environment: dict[str, str] | None = None,
    cache_version: str | None = None,
    step: str = "sample",
) -> str:
    key, reason = cache_key(
        step=step,
        func=func,
        params={"x": 1} if params is None else params,
        inputs={} if inputs is None else inputs,
        output_materializers=outputs,
        environment=environment,
        cache_version=cache_version,
    )
    assert key is not None, reason
    assert reason is None and len(key) == 64
    return key


def _ref(content_hash: str, materializer: str = "pandas.parquet") -> ArtifactRef:
    return ArtifactRef(materializer, 1, content_hash, content_hash, "pandas.DataFrame", 10)


# -- modules written into a temp folder -------------------------------------------------------
class Modules:
    """Writes modules into a folder on sys.path, imports and re-imports them after edits."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.suffix = uuid.uuid4().hex[:8]

    def name(self, stem: str) -> str:
        return f"{stem}_{self.suffix}"

    def write(self, stem: str, source: str) -> None:
        text = textwrap.dedent(source).replace("SUFFIX", self.suffix)
        (self.folder / f"{self.name(stem)}.py").write_text(text)

    def load(self, *stems: str) -> ModuleType:
        """(Re)import the modules in order (helpers first); the last one is returned."""
        importlib.invalidate_caches()
        module: ModuleType | None = None
        for stem in stems:
            name = self.name(stem)
            if name in sys.modules:
                module = importlib.reload(sys.modules[name])
            else:
                module = importlib.import_module(name)
        assert module is not None
        return module


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Modules]:
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # edits within a second must count
    made = Modules(folder)
    yield made
    for name in [n for n in sys.modules if made.suffix in n]:
        del sys.modules[name]


HELPERS = """
    THRESHOLD = 0.5

    def clean(x):
        return x + 1

    def unrelated(x):
        return x - 1

    class Scaler:
        def apply(self, x):
            return clean(x) * 2
"""

STEPS = """
    from helpers_SUFFIX import THRESHOLD, Scaler, clean

    def train(x):
        return clean(x) > THRESHOLD

    def scaled(x):
        return Scaler().apply(x)
"""


# -- code -------------------------------------------------------------------------------------
def test_the_key_changes_with_the_step_source(modules: Modules) -> None:
    modules.write("steps", "def train(x):\n    return x + 1\n")
    before = key_of(modules.load("steps").train)
    assert key_of(modules.load("steps").train) == before  # re-imported, unchanged
    modules.write("steps", "def train(x):\n    return x + 2\n")
    assert key_of(modules.load("steps").train) != before


def test_the_key_changes_with_a_project_helper_it_calls(modules: Modules) -> None:
    modules.write("helpers", HELPERS)
    modules.write("steps", STEPS)
    steps = modules.load("helpers", "steps")
    train, scaled = key_of(steps.train), key_of(steps.scaled)

    modules.write("helpers", HELPERS.replace("return x - 1", "return x - 2"))
    steps = modules.load("helpers", "steps")
    assert (key_of(steps.train), key_of(steps.scaled)) == (train, scaled)  # not called

    modules.write("helpers", HELPERS.replace("return x + 1", "return x + 10"))
    steps = modules.load("helpers", "steps")
    assert key_of(steps.train) != train
    assert key_of(steps.scaled) != scaled  # through Scaler.apply -> clean


def test_the_key_changes_with_a_module_constant_and_a_method(modules: Modules) -> None:
    modules.write("helpers", HELPERS)
    modules.write("steps", STEPS)
    steps = modules.load("helpers", "steps")
    train, scaled = key_of(steps.train), key_of(steps.scaled)
    modules.write("helpers", HELPERS.replace("THRESHOLD = 0.5", "THRESHOLD = 0.7"))
    assert key_of(modules.load("helpers", "steps").train) != train
    modules.write("helpers", HELPERS.replace("* 2", "* 3"))
    assert key_of(modules.load("helpers", "steps").scaled) != scaled


def test_a_module_it_uses_counts_whole(modules: Modules) -> None:
    modules.write("helpers", HELPERS)
    modules.write("steps", "import helpers_SUFFIX as h\n\ndef train(x):\n    return h.clean(x)\n")
    before = key_of(modules.load("helpers", "steps").train)
    modules.write("helpers", textwrap.dedent(HELPERS) + "\nEXTRA = 1\n")
    assert key_of(modules.load("helpers", "steps").train) != before


WRAPPED = """
    import functools

    class Base:
        def offset(self):
            return 1

    class Child(Base):
        pass

    @functools.lru_cache
    def cached(x):
        return x * 2

    def scale(x, factor):
        return x * factor

    triple = functools.partial(scale, factor=3)
"""

WRAPPED_STEPS = """
    from helpers_SUFFIX import Child, cached, triple

    def by_base(x):
        return Child().offset() + x

    def by_cache(x):
        return cached(x)

    def by_partial(x):
        return triple(x)
"""


@pytest.mark.parametrize(
    ("step", "old", "new"),
    [
        ("by_base", "return 1", "return 2"),
        ("by_cache", "x * 2", "x * 4"),
        ("by_partial", "x * factor", "x * factor + 1"),
        ("by_partial", "factor=3", "factor=4"),
    ],
)
def test_base_classes_decorated_helpers_and_partials_are_followed(
    modules: Modules, step: str, old: str, new: str
) -> None:
    modules.write("helpers", WRAPPED)
    modules.write("steps", WRAPPED_STEPS)
    before = key_of(getattr(modules.load("helpers", "steps"), step))
    modules.write("helpers", WRAPPED.replace(old, new))
    assert key_of(getattr(modules.load("helpers", "steps"), step)) != before


def test_a_function_reached_through_a_package_counts(modules: Modules) -> None:
    package = modules.folder / modules.name("pkg")
    package.mkdir()
    (package / "__init__.py").write_text("")
    sub = "def clean(x):\n    return x + 1\n"
    (package / "sub.py").write_text(sub)
    modules.write(
        "steps", "import pkg_SUFFIX.sub\n\ndef train(x):\n    return pkg_SUFFIX.sub.clean(x)\n"
    )
    importlib.invalidate_caches()
    before = key_of(modules.load("steps").train)
    (package / "sub.py").write_text(sub.replace("+ 1", "+ 22"))
    importlib.reload(sys.modules[f"{modules.name('pkg')}.sub"])
    assert key_of(modules.load("steps").train) != before


def test_library_code_is_not_hashed_but_does_not_disable_caching(modules: Modules) -> None:
    modules.write(
        "steps",
        """
        import json
        import numpy as np
        from pathlib import Path

        def train(x):
            return json.dumps(float(np.mean([x, 1]))) + str(Path("."))
        """,
    )
    assert code_fingerprint(modules.load("steps").train) is not None


def test_nested_functions_and_closures_are_followed(modules: Modules) -> None:
    helpers = "def clean(x):\n    return x + 1\n"
    modules.write("helpers", helpers)
    modules.write(
        "steps",
        """
        from helpers_SUFFIX import clean

        def make():
            factor = 3
            def train(x):
                return [clean(v) * factor for v in x]
            return train
        """,
    )
    before = key_of(modules.load("helpers", "steps").make())
    modules.write("helpers", helpers.replace("+ 1", "+ 5"))
    assert key_of(modules.load("helpers", "steps").make()) != before


def test_every_closure_variable_counts() -> None:
    def make(a: int, b: int) -> Callable[[], int]:
        def step() -> int:
            return a + b

        return step

    assert key_of(make(1, 2)) != key_of(make(1, 3))
    assert key_of(make(1, 2)) != key_of(make(5, 2))
    assert key_of(make(1, 2)) == key_of(make(1, 2))


def test_a_global_mock_does_not_break_the_walk() -> None:
    from unittest import mock

    glob = globals()
    glob["_mocked"] = mock.Mock()
    try:
        assert code_fingerprint(_uses_mock) is not None
    finally:
        del glob["_mocked"]


def _uses_mock() -> Any:
    return _mocked()  # type: ignore[name-defined]  # noqa: F821 - set by the test


def test_same_key_in_a_new_process(modules: Modules, tmp_path: Path) -> None:
    modules.write("helpers", HELPERS)
    modules.write("steps", STEPS)
    steps = modules.load("helpers", "steps")
    params = {"b": [1, 2.5, {"z": None}], "a": ("t", True), "s": {"x", "y", "z"}}
    inputs = {"df": _ref("ab" * 32), "many": [_ref("cd" * 32), _ref("ef" * 32, "json")]}
    here = key_of(steps.train, params=params, inputs=inputs, environment={"numpy": "2"})
    code = textwrap.dedent(
        f"""
        import importlib, sys
        sys.path.insert(0, {str(modules.folder)!r})
        from loopml.pipelines.cache_key import cache_key
        from loopml.pipelines.refs import ArtifactRef
        def ref(h, m="pandas.parquet"):
            return ArtifactRef(m, 1, h, h, "pandas.DataFrame", 10)
        steps = importlib.import_module({modules.name("steps")!r})
        key, reason = cache_key(
            step="sample", func=steps.train,
            params={{"s": {{"z", "y", "x"}}, "a": ("t", True), "b": [1, 2.5, {{"z": None}}]}},
            inputs={{"many": [ref("cd" * 32), ref("ef" * 32, "json")], "df": ref("ab" * 32)}},
            output_materializers=["json"], environment={{"numpy": "2"}}, cache_version=None,
        )
        print(key)
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    for seed in ("1", "2"):
        env["PYTHONHASHSEED"] = seed
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=Path.cwd(),
        )
        assert done.stdout.strip() == here


# -- params, inputs, versions, materializers (property tests) ---------------------------------
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
param_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
param_dicts = st.dictionaries(st.text(min_size=1, max_size=6), param_values, max_size=5)
hexes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(params=param_dicts, data=st.data())
def test_equal_params_in_any_order_give_the_same_key(params: dict[str, Any], data: Any) -> None:
    shuffled = dict(data.draw(st.permutations(list(params.items()))))
    assert key_of(params=params) == key_of(params=shuffled)


@fast
@given(params=param_dicts.filter(bool), data=st.data(), new=param_values)
def test_a_changed_param_changes_the_key(params: dict[str, Any], data: Any, new: Any) -> None:
    name = data.draw(st.sampled_from(sorted(params)))
    changed = {**params, name: new}
    assume(canonical_params(changed) != canonical_params(params))
    assert key_of(params=params) != key_of(params=changed)


def test_params_are_typed() -> None:
    variants = [1, 1.0, True, "1", [1], (1,), {"1": 1}, None, {1}]
    keys = {key_of(params={"p": value}) for value in variants}
    assert len(keys) == len(variants)


@fast
@given(a=hexes, b=hexes)
def test_an_input_content_hash_changes_the_key(a: str, b: str) -> None:
    assume(a != b)
    assert key_of(inputs={"df": _ref(a)}) != key_of(inputs={"df": _ref(b)})
    assert key_of(inputs={"df": _ref(a)}) == key_of(inputs={"df": _ref(a)})


def test_input_materializer_and_fan_in_order_count() -> None:
    a, b = _ref("a" * 64), _ref("b" * 64)
    assert key_of(inputs={"x": a}) != key_of(inputs={"x": _ref("a" * 64, "numpy.npy")})
    assert key_of(inputs={"x": [a, b]}) != key_of(inputs={"x": [b, a]})
    assert key_of(inputs={"x": a, "y": b}) == key_of(inputs={"y": b, "x": a})
    assert key_of(inputs={"x": a, "y": b}) != key_of(inputs={"x": b, "y": a})


@fast
@given(one=st.none() | st.text(max_size=8), two=st.none() | st.text(max_size=8))
def test_cache_version_changes_the_key(one: str | None, two: str | None) -> None:
    assume(one != two)
    assert key_of(cache_version=one) != key_of(cache_version=two)


def test_materializers_environment_and_step_name_change_the_key() -> None:
    base = key_of()
    assert key_of(outputs=("pickle",)) != base
    assert key_of(outputs=("json", "json")) != base
    assert key_of(outputs=("my.custom",)) != base  # unknown names still count
    assert key_of(environment={"numpy": "2.0"}) != key_of(environment={"numpy": "2.1"})
    assert key_of(environment={}) != base
    assert key_of(step="other") != base
    assert key_of() == base


# -- fail closed ------------------------------------------------------------------------------
def test_a_param_that_cannot_be_hashed_disables_caching() -> None:
    for value in (object(), {1: "a"}, Path("x"), b"bytes"):
        key, reason = cache_key(
            step="train",
            func=_sample,
            params={"x": 1, "weird": value},
            inputs={},
            output_materializers=["json"],
            environment=None,
            cache_version=None,
        )
        assert key is None and reason is not None
        assert "'weird'" in reason and "'train'" in reason
    with pytest.raises(InvalidInputError) as info:
        canonical_params({"weird": object()})
    assert info.value.field == "weird"


def test_code_without_source_disables_caching(modules: Modules) -> None:
    namespace: dict[str, Any] = {}
    exec("def typed_in(x):\n    return x\n", namespace)
    for func in (namespace["typed_in"], len, print):
        key, reason = cache_key(
            step="s",
            func=func,
            params={},
            inputs={},
            output_materializers=[],
            environment=None,
            cache_version=None,
        )
        assert key is None and reason is not None and "'s'" in reason
        assert code_fingerprint(func) is None
    modules.write("helpers", "def clean(x):\n    return x\n")
    modules.write(
        "steps", "from helpers_SUFFIX import clean\n\ndef train(x):\n    return clean(x)\n"
    )
    steps = modules.load("helpers", "steps")
    steps.__dict__["clean"] = namespace["typed_in"]  # a project helper without source
    namespace["typed_in"].__module__ = steps.__name__
    assert code_fingerprint(steps.train) is None


def test_wrapped_functions_are_unwrapped() -> None:
    import functools

    @functools.wraps(_sample)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _sample(*args, **kwargs)

    assert code_fingerprint(wrapper) == code_fingerprint(_sample)
