"""`loopml models`: list, versions, show, diff, alias, unalias, tag, describe, delete, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import loopml
from loopml.cli.main import app
from loopml.entities import LineageEdge, ModelVersion, now_ms
from loopml.tracking.context import get_context

Invoke = Callable[..., Result]
JsonOf = Callable[..., Any]

COMMANDS = [
    "list",
    "versions",
    "show",
    "diff",
    "alias",
    "unalias",
    "tag",
    "describe",
    "delete",
    "history",
]


def _register(name: str, blob: str, **kw: Any) -> ModelVersion:
    """A version recorded in the store directly (enough for commands that read no package)."""
    return get_context().store.create_model_version(
        name, package_blob=blob, file_blobs=[], flavor="sklearn", source=f"/pkg/{blob}", **kw
    )


@pytest.fixture
def registered() -> None:
    """churn versions 1-3 (champion -> 2) and alpha version 1."""
    for i in (1, 2, 3):
        _register("churn", f"c{i}", actor="alice")
    _register("alpha", "a1")
    get_context().store.set_model_alias("churn", "champion", 2, actor="alice")


@pytest.fixture
def logged() -> dict[str, str]:
    """Two real scikit-learn versions of 'clf' from two runs (different C, accuracy and
    inputs); the first run read a dataset and carries a commit tag. Run ids by version."""
    pd = pytest.importorskip("pandas")
    linear_model = pytest.importorskip("sklearn.linear_model")
    y = [0, 0, 1, 1]
    ids: dict[str, str] = {}
    for version, c, acc, columns in ((1, 1.0, 0.81, "ab"), (2, 0.5, 0.87, "abc")):
        frame = pd.DataFrame(
            {col: [0.0, 1.0, 2.0, 3.0][:: 1 if col != "b" else -1] for col in columns}
        )
        with loopml.start_run(project="churn", name=f"lr-c{c}") as run:
            loopml.log_params({"C": c, "solver": "lbfgs"})
            loopml.log_metric("acc", acc)
            if version == 1:
                loopml.set_tag("git_commit", "0123abcd")
            clf = linear_model.LogisticRegression(C=c).fit(frame, y)
            info = loopml.models.log_model(clf, input_example=frame[:2], registered_name="clf")
        assert info.version == version
        ids[str(version)] = run.id
    get_context().store.add_lineage([LineageEdge(ids["1"], "input", "datasets:/raw/4", now_ms())])
    return ids


# -- help -------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(invoke: Invoke, command: str) -> None:
    out = invoke("models", command, "--help").stdout
    assert "Usage:" in out and "--json" in out


def test_group_help_lists_commands_with_env(invoke: Invoke) -> None:
    out = invoke("models", "--help").stdout
    for command in [*COMMANDS, "env", "verify-env"]:
        assert command in out


# -- list, versions ---------------------------------------------------------------------------
def test_list_json_is_name_latest_aliases_updated(registered: None, as_json: JsonOf) -> None:
    models = as_json("models", "list")
    assert [m["name"] for m in models] == ["alpha", "churn"]
    churn = models[1]
    assert set(churn) == {"name", "latest_version", "aliases", "updated_at"}
    assert (churn["latest_version"], churn["aliases"]) == (3, {"champion": 2})
    assert churn["updated_at"] == get_context().store.get_registered_model("churn").updated_at


def test_list_table(registered: None, invoke: Invoke) -> None:
    out = invoke("models", "list").stdout
    assert "churn" in out and "alpha" in out and "champion → 2" in out


def test_list_empty(invoke: Invoke, as_json: JsonOf) -> None:
    assert as_json("models", "list") == []
    assert "No registered models yet" in invoke("models", "list").stdout


def test_versions(registered: None, invoke: Invoke, as_json: JsonOf) -> None:
    found = as_json("models", "versions", "churn")
    assert [v["version"] for v in found] == [1, 2, 3]
    assert found[1]["aliases"] == ["champion"]
    assert found[0]["created_by"] == "alice"
    out = invoke("models", "versions", "churn").stdout
    assert "champion" in out and "/pkg/c3" in out


def test_unknown_model_is_an_error_not_a_traceback(invoke: Invoke) -> None:
    result = invoke("models", "versions", "ghost", code=1)
    assert "error:" in result.stderr and "ghost" in result.stderr
    assert "loopml models list" in result.stderr
    assert "Traceback" not in result.stderr


# -- aliases ----------------------------------------------------------------------------------
def test_alias_move_and_unalias(registered: None, invoke: Invoke, as_json: JsonOf) -> None:
    moved = as_json("models", "alias", "churn", "champion", "3")
    assert moved == {"name": "churn", "alias": "champion", "version": 3, "previous": 2}
    assert "version 1 (was" not in invoke("models", "alias", "churn", "staging", "1").stdout
    store = get_context().store
    assert dict(store.get_registered_model("churn").aliases) == {"champion": 3, "staging": 1}
    out = invoke("models", "unalias", "churn", "staging").stdout
    assert "models:/churn@staging" in out and "version 1" in out
    assert dict(store.get_registered_model("churn").aliases) == {"champion": 3}
    events = as_json("models", "history", "churn")
    moves = [(e["action"], e["key"], e["old"], e["new"]) for e in events if "alias" in e["action"]]
    assert moves == [
        ("set_alias", "champion", None, "2"),
        ("set_alias", "champion", "2", "3"),
        ("set_alias", "staging", None, "1"),
        ("delete_alias", "staging", "1", None),
    ]


@pytest.mark.parametrize("alias", ["Champion", "latest", "9lives"])
def test_bad_alias_is_a_usage_error(registered: None, invoke: Invoke, alias: str) -> None:
    result = invoke("models", "alias", "churn", alias, "1", code=2)
    assert "alias" in result.stderr and "hint:" in result.stderr


def test_alias_to_unknown_version(registered: None, invoke: Invoke) -> None:
    result = invoke("models", "alias", "churn", "champion", "9", code=1)
    assert "no version 9" in result.stderr


def test_unalias_unknown(registered: None, invoke: Invoke) -> None:
    assert "no alias 'shadow'" in invoke("models", "unalias", "churn", "shadow", code=1).stderr


# -- tags, descriptions -----------------------------------------------------------------------
def test_tags_on_model_and_version(registered: None, invoke: Invoke, as_json: JsonOf) -> None:
    assert as_json("models", "tag", "churn", "team=risk", "tier=1") == {
        "name": "churn",
        "version": None,
        "tags": {"team": "risk", "tier": "1"},
    }
    invoke("models", "tag", "churn", "stage=checked", "--version", "2")
    invoke("models", "tag", "churn", "note=a=b", "--version", "2")  # the first '=' splits
    store = get_context().store
    assert dict(store.get_registered_model("churn").tags) == {"team": "risk", "tier": "1"}
    assert dict(store.get_model_version("churn", 2).tags) == {"stage": "checked", "note": "a=b"}
    out = invoke("models", "tag", "churn", "tier", "--delete").stdout
    assert "Removed" in out and "tier" in out
    invoke("models", "tag", "churn", "stage", "--delete", "--version", "2")
    assert dict(store.get_registered_model("churn").tags) == {"team": "risk"}
    assert dict(store.get_model_version("churn", 2).tags) == {"note": "a=b"}
    assert "no tag 'tier'" in invoke("models", "tag", "churn", "tier", "--delete", code=1).stderr


def test_tag_without_equals_is_a_usage_error(registered: None, invoke: Invoke) -> None:
    result = invoke("models", "tag", "churn", "team", code=2)
    assert "KEY=VALUE" in result.stderr
    assert dict(get_context().store.get_registered_model("churn").tags) == {}


def test_describe_model_and_version(registered: None, invoke: Invoke, as_json: JsonOf) -> None:
    invoke("models", "describe", "churn", "Predicts churn")
    data = as_json("models", "describe", "churn", "Retrained on May", "--version", "3")
    assert data == {"name": "churn", "version": 3, "description": "Retrained on May"}
    store = get_context().store
    assert store.get_registered_model("churn").description == "Predicts churn"
    assert store.get_model_version("churn", 3).description == "Retrained on May"
    assert "Cleared" in invoke("models", "describe", "churn", "").stdout
    assert store.get_registered_model("churn").description is None


# -- delete, history --------------------------------------------------------------------------
def test_delete_version_asks_first(registered: None) -> None:
    runner = CliRunner()
    store = get_context().store
    refused = runner.invoke(app, ["models", "delete", "churn", "--version", "2"], input="n\n")
    assert refused.exit_code == 1
    assert "Delete version 2 of model 'churn'?" in refused.stderr
    assert [v.version for v in store.list_model_versions("churn")] == [1, 2, 3]
    agreed = runner.invoke(app, ["models", "delete", "churn", "--version", "2"], input="y\n")
    assert agreed.exit_code == 0, agreed.stderr
    assert [v.version for v in store.list_model_versions("churn")] == [1, 3]
    assert dict(store.get_registered_model("churn").aliases) == {}  # champion went with v2


def test_delete_model_with_yes(registered: None, invoke: Invoke, as_json: JsonOf) -> None:
    data = as_json("models", "delete", "churn", "--yes")
    assert data == {"name": "churn", "version": None, "deleted": True}
    assert [m["name"] for m in as_json("models", "list")] == ["alpha"]
    events = as_json("models", "history", "churn")
    assert events[-1]["action"] == "delete_model"
    assert invoke("models", "delete", "ghost", "--yes", code=1).stderr.startswith("error:")


def test_history(registered: None, invoke: Invoke, as_json: JsonOf) -> None:
    invoke("models", "tag", "churn", "team=risk")
    invoke("models", "tag", "churn", "team=ops")
    events = as_json("models", "history", "churn")
    assert [e["action"] for e in events] == [
        "create_model",
        "create_version",
        "create_version",
        "create_version",
        "set_alias",
        "set_tag",
        "set_tag",
    ]
    assert events[-1]["old"] == "risk" and events[-1]["new"] == "ops"
    assert events[1]["actor"] == "alice"
    only_two = as_json("models", "history", "churn", "--version", "2")
    assert [e["action"] for e in only_two] == ["create_version", "set_alias"]
    out = invoke("models", "history", "churn").stdout
    assert "risk → ops" in out and "set_alias" in out


# -- show, diff (real packages) ---------------------------------------------------------------
def test_show_lineage(logged: dict[str, str], as_json: JsonOf, invoke: Invoke) -> None:
    get_context().store.set_model_alias("clf", "champion", 1)
    data = as_json("models", "show", "models:/clf@champion")
    assert data["version"]["version"] == 1
    assert data["version"]["aliases"] == ["champion"]
    assert data["run"] == {
        "id": logged["1"],
        "name": "lr-c1.0",
        "project": "churn",
        "status": "FINISHED",
    }
    assert data["params"] == {"C": "1.0", "solver": "lbfgs"}
    assert data["metrics"] == {"acc": 0.81}
    assert data["datasets"] == ["datasets:/raw/4"]
    assert data["code"]["git_commit"] == "0123abcd"
    assert data["flavor"] == "sklearn"
    assert [c["name"] for c in data["signature"]["inputs"]] == ["a", "b"]
    assert data["environment"]["python"].count(".") == 2
    assert any(r.startswith("scikit-learn==") for r in data["environment"]["requirements"])
    out = invoke("models", "show", "models:/clf/1").stdout
    for text in ("lr-c1.0", "0123abcd", "datasets:/raw/4", "Signature", "Environment", "acc"):
        assert text in out


def test_show_latest_and_bad_uri(logged: dict[str, str], as_json: JsonOf, invoke: Invoke) -> None:
    assert as_json("models", "show", "models:/clf@latest")["version"]["version"] == 2
    assert "not a model URI" in invoke("models", "show", "models:clf", code=2).stderr
    assert "no version 7" in invoke("models", "show", "models:/clf/7", code=1).stderr


def test_diff(logged: dict[str, str], as_json: JsonOf, invoke: Invoke) -> None:
    data = as_json("models", "diff", "models:/clf/1", "models:/clf/2")
    assert (data["a"], data["b"]) == ("models:/clf/1", "models:/clf/2")
    assert data["params"]["C"] == {"a": "1.0", "b": "0.5", "changed": True}
    assert data["params"]["solver"]["changed"] is False
    assert data["metrics"]["acc"] == {"a": 0.81, "b": 0.87, "changed": True}
    assert data["signature"]["inputs.c"] == {"a": None, "b": "float64", "changed": True}
    assert data["environment"]["python"]["changed"] is False
    assert set(data["changed"]) == {
        "model.run",
        "model.git_commit",
        "model.datasets",
        "params.C",
        "metrics.acc",
        "signature.inputs.c",
    }
    out = invoke("models", "diff", "models:/clf/1", "models:/clf/2", "--changed").stdout
    assert "params.C" in out and "metrics.acc" in out and "signature.inputs.c" in out
    assert "params.solver" not in out and "environment.python" not in out
    assert "6 row(s) differ." in out
    same = invoke("models", "diff", "models:/clf/2", "models:/clf@latest").stdout
    assert "No differences." in same
