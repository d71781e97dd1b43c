"""Materializers: each built-in type round-trips, hashes are stable, unsupported types are
refused (from the type hint before a run, from the value at run time), pickle is opt-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopml
from loopml.errors import InvalidInputError
from loopml.pipelines.materializers import (
    MISSING,
    AutoMaterializer,
    get_materializer,
    materializer_for,
)
from loopml.pipelines.refs import ArtifactRef
from loopml.tracking.context import TrackingContext, get_context


@pytest.fixture
def ctx(sqlite_uri: str, tmp_path: Path) -> TrackingContext:
    loopml.configure(tracking_uri=sqlite_uri, artifact_uri=str(tmp_path / "objects"))
    return get_context()


def _round_trip(
    value: Any, ctx: TrackingContext, hint: Any = None, **kw: Any
) -> tuple[Any, ArtifactRef]:
    materializer = materializer_for(hint, value, **kw)
    ref = materializer.save(value, ctx)
    assert ctx.objects.exists(ref.blob)
    return get_materializer(ref.materializer).load(ref, ctx), ref


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.arange(4, dtype="int64"),
            "f": np.array([0.5, 1.5, np.nan, 3.0], dtype="float32"),
            "s": ["a", "b", "c", "d"],
            "c": pd.Categorical(["x", "y", "x", "y"]),
            "t": pd.date_range("2024-01-01", periods=4, tz="UTC"),
            "b": [True, False, True, False],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
        },
        index=pd.Index([10, 20, 30, 40], name="row"),
    )


# -- round trips ------------------------------------------------------------------------------
def test_dataframe_round_trips_with_dtypes_and_index(ctx: TrackingContext) -> None:
    frame = _frame()
    back, ref = _round_trip(frame, ctx, pd.DataFrame)
    pd.testing.assert_frame_equal(back, frame)
    assert list(back.dtypes) == list(frame.dtypes)
    assert (ref.materializer, ref.content_hash, ref.uri) == ("pandas.parquet", ref.blob, None)
    assert ref.type_name.endswith("DataFrame") and ref.size > 0


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype="float32").reshape(3, 4),
        np.array([[1, 2], [3, 4]], dtype="int16"),
        np.array([True, False]),
        np.array(["ab", "c"]),
        np.zeros((0, 3)),
    ],
    ids=["float32", "int16", "bool", "str", "empty"],
)
def test_ndarray_round_trips(ctx: TrackingContext, array: np.ndarray) -> None:
    back, ref = _round_trip(array, ctx, np.ndarray)
    np.testing.assert_array_equal(back, array)
    assert (back.dtype, back.shape, ref.materializer) == (array.dtype, array.shape, "numpy.npy")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values)
def test_json_round_trips(ctx: TrackingContext, value: Any) -> None:
    back, ref = _round_trip(value, ctx)
    assert back == value and ref.materializer == "json"


def test_numpy_scalars_in_json_come_back_as_numbers(ctx: TrackingContext) -> None:
    metrics = {"auc": np.float32(0.5), "n": np.int64(7), "ok": np.bool_(True), "l": [np.int8(1)]}
    back, ref = _round_trip(metrics, ctx)
    assert ref.materializer == "json"
    assert back == {"auc": 0.5, "n": 7, "ok": True, "l": [1]} == metrics
    assert type(back["n"]) is int
    with pytest.raises(InvalidInputError):
        materializer_for(None, {"x": np.float64("nan")})


def test_json_is_canonical(ctx: TrackingContext) -> None:
    one = materializer_for(dict).save({"b": [1, 2], "a": {"y": 1, "x": None}}, ctx)
    two = materializer_for(dict).save({"a": {"x": None, "y": 1}, "b": [1, 2]}, ctx)
    assert one.blob == two.blob == one.content_hash
    assert ctx.objects.get_bytes(one.blob) == b'{"a":{"x":null,"y":1},"b":[1,2]}'


def test_sklearn_model_round_trips_as_a_package(ctx: TrackingContext) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    materializer = materializer_for(LogisticRegression)
    assert materializer.name == "model"
    ref = materializer.save(model, ctx)
    assert ref.blobs and all(ctx.objects.exists(blob) for blob in ref.all_blobs)
    assert ref.content_hash != ref.blob  # the files, not the manifest with its timestamp
    loaded = get_materializer(ref.materializer).load(ref, ctx)
    assert type(loaded) is LogisticRegression
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_folder_becomes_a_data_version(ctx: TrackingContext, tmp_path: Path) -> None:
    folder = tmp_path / "my features"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "sub" / "b.txt").write_text("hello")
    back, ref = _round_trip(folder, ctx, Path)
    assert ref.materializer == "path" and ref.uri == "datasets:/my-features/1"
    assert ref.size == 9
    assert isinstance(back, Path)
    assert (back / "a.csv").read_text() == "x\n1\n"
    assert (back / "sub" / "b.txt").read_text() == "hello"
    again = materializer_for(Path).save(folder, ctx)
    assert (again.uri, again.content_hash) == (ref.uri, ref.content_hash)  # same version


def test_single_file_becomes_a_data_version(ctx: TrackingContext, tmp_path: Path) -> None:
    file = tmp_path / "report.txt"
    file.write_text("ok")
    back, ref = _round_trip(file, ctx)
    assert ref.uri == "datasets:/report.txt/1" and back.read_text() == "ok"


# -- hashes -----------------------------------------------------------------------------------
def test_equal_content_gives_the_same_hash(ctx: TrackingContext) -> None:
    frame = materializer_for(pd.DataFrame)
    assert frame.save(_frame(), ctx).content_hash == frame.save(_frame().copy(), ctx).content_hash
    changed = _frame()
    changed.loc[10, "i"] = 99
    assert frame.save(changed, ctx).content_hash != frame.save(_frame(), ctx).content_hash
    array = materializer_for(np.ndarray)
    assert array.save(np.arange(5), ctx).content_hash == array.save(np.arange(5), ctx).content_hash
    assert array.save(np.arange(5), ctx).content_hash != array.save(np.arange(6), ctx).content_hash


def test_hash_is_the_same_in_another_process(ctx: TrackingContext, tmp_path: Path) -> None:
    code = (
        "import sys, pandas as pd, numpy as np, loopml\n"
        "from loopml.pipelines.materializers import materializer_for\n"
        "from loopml.tracking.context import get_context\n"
        f"loopml.configure(tracking_uri=sys.argv[1], artifact_uri={str(tmp_path / 'other')!r})\n"
        "df = pd.DataFrame({'a': [1, 2], 's': ['x', 'y']})\n"
        "print(materializer_for(pd.DataFrame).save(df, get_context()).content_hash)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{tmp_path / 'other.db'}"],
        capture_output=True,
        text=True,
        check=True,
    )
    here = materializer_for(pd.DataFrame).save(pd.DataFrame({"a": [1, 2], "s": ["x", "y"]}), ctx)
    assert done.stdout.strip() == here.content_hash


# -- choosing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hint", "name"),
    [
        (pd.DataFrame, "pandas.parquet"),
        (Annotated[pd.DataFrame, "features"], "pandas.parquet"),
        (np.ndarray, "numpy.npy"),
        (npt.NDArray[np.float64], "numpy.npy"),
        (dict[str, float], "json"),
        (list[dict[str, int | None]], "json"),
        (int | None, "json"),
        (str, "json"),
        (bool, "json"),
        (Path, "path"),
        (None, "auto"),
        (Any, "auto"),
        (pd.DataFrame | None, "auto"),
    ],
)
def test_materializer_from_the_hint(hint: Any, name: str) -> None:
    assert materializer_for(hint).name == name


def test_unsupported_hint_is_refused_before_the_run() -> None:
    with pytest.raises(InvalidInputError) as info:
        materializer_for(set[int], step="train")
    error = info.value
    assert error.field == "train.returns"
    assert "'train'" in error.message and "set[int]" in error.message
    assert error.hint is not None and "allow_pickle=True" in error.hint
    assert "DataFrame" in error.hint
    with pytest.raises(InvalidInputError, match="tuple"):
        materializer_for(tuple[int, str], step="split")  # a JSON round trip gives a list
    assert materializer_for(set[int], allow_pickle=True, step="train").name == "pickle"


def test_unsupported_value_is_refused_at_run_time() -> None:
    with pytest.raises(InvalidInputError) as info:
        materializer_for(None, {1, 2}, step="load")
    assert info.value.field == "load.returns" and "builtins.set" in info.value.message
    with pytest.raises(InvalidInputError, match=r"declared to return pandas\.DataFrame"):
        materializer_for(pd.DataFrame, {"a": 1}, step="load")
    with pytest.raises(InvalidInputError, match=r"numpy\.ndarray"):
        materializer_for(np.ndarray, np.array([object()]), step="arr")
    with pytest.raises(InvalidInputError):
        materializer_for(None, float("nan"), step="nan")  # not JSON


def test_value_decides_when_the_hint_says_nothing() -> None:
    assert materializer_for(None, _frame()).name == "pandas.parquet"
    assert materializer_for(Any, np.arange(3)).name == "numpy.npy"
    assert materializer_for(MISSING, [1, "a"]).name == "json"
    assert materializer_for(pd.DataFrame | None, None).name == "json"
    assert materializer_for(int, 3).name == "json"


def test_pickle_only_with_allow_pickle(ctx: TrackingContext) -> None:
    value = {"ids": {1, 2, 3}}
    with pytest.raises(InvalidInputError):
        materializer_for(None, value)
    back, ref = _round_trip(value, ctx, allow_pickle=True)
    assert back == value and ref.materializer == "pickle"
    objects = np.array([{"a": 1}, None], dtype=object)
    back, ref = _round_trip(objects, ctx, np.ndarray, allow_pickle=True)
    assert ref.materializer == "pickle" and list(back) == list(objects)
    # supported values never fall back to pickle
    assert materializer_for(None, [1], allow_pickle=True).name == "json"


def test_auto_materializer_records_the_concrete_one(ctx: TrackingContext) -> None:
    auto = materializer_for(Any, step="s")
    assert isinstance(auto, AutoMaterializer)
    ref = auto.save(_frame(), ctx)
    assert ref.materializer == "pandas.parquet"
    pd.testing.assert_frame_equal(get_materializer("auto").load(ref, ctx), _frame())
    with pytest.raises(InvalidInputError, match="'s'"):
        auto.save({1}, ctx)
    assert materializer_for(Any, allow_pickle=True).save({1}, ctx).materializer == "pickle"


def test_unknown_materializer_and_newer_refs_are_refused(ctx: TrackingContext) -> None:
    with pytest.raises(InvalidInputError) as info:
        get_materializer("parquet2")
    assert info.value.field == "materializer"
    ref = materializer_for(dict).save({"a": 1}, ctx)
    newer = ArtifactRef.from_dict({**ref.to_dict(), "materializer_version": 99})
    with pytest.raises(InvalidInputError, match="upgrade loopml"):
        get_materializer("json").load(newer, ctx)
    with pytest.raises(InvalidInputError):
        get_materializer("numpy.npy").load(ref, ctx)


def test_unwritable_dataframe_is_an_input_error(ctx: TrackingContext) -> None:
    frame = pd.DataFrame({"a": [object(), object()]})
    with pytest.raises(InvalidInputError, match="Parquet"):
        materializer_for(pd.DataFrame).save(frame, ctx)


def test_a_materializer_refuses_a_value_of_another_type(ctx: TrackingContext) -> None:
    """What a worker sees when a step returns something else than its annotation says."""
    for name, value in [
        ("pandas.parquet", {"a": 1}),
        ("numpy.npy", [1, 2]),
        ("json", {1, 2}),
        ("model", "not a model"),
        ("path", "a/str/is/not/a/path"),
    ]:
        with pytest.raises(InvalidInputError) as info:
            get_materializer(name).save(value, ctx)
        assert info.value.field == "value" and name in info.value.message
