"""run_gate end to end: registered models, a dataset version, promotion only on pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.gates.registry_setup import churn_registry

import loopml
from loopml.errors import InvalidInputError, NotFoundError
from loopml.gates import run_gate


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return churn_registry(tmp_path, monkeypatch)


def _alias(alias: str) -> int:
    return loopml.models.resolve(f"models:/churn@{alias}").version


def test_pass_and_promote(registry: dict[str, str]) -> None:
    report = run_gate(
        "models:/churn@challenger",
        against="models:/churn@champion",
        data="datasets:/eval@latest",
        target="churned",
        require=["accuracy>=0.7"],
        max_regression=["f1:0.01"],
        slices=["region"],
        bootstrap=200,
        seed=0,
        promote="champion",
    )
    assert report.passed, report.to_markdown()
    assert report.challenger.resolved == "models:/churn/2"
    assert report.champion is not None
    assert report.champion.resolved == "models:/churn/1"
    assert report.data.resolved == "datasets:/eval/1"
    assert report.data.rows == 400
    assert report.promoted == "churn@champion -> version 2"
    assert _alias("champion") == 2
    assert any(s.value == "eu" for s in report.slices)


def test_fail_does_not_promote(registry: dict[str, str]) -> None:
    report = run_gate(
        "models:/churn/3",
        against="models:/churn@challenger",
        data=registry["data"],
        target="churned",
        max_regression=["accuracy:0.01"],
        bootstrap=100,
        promote="champion",
    )
    assert not report.passed
    assert report.promoted is None
    assert _alias("champion") == 1


def test_no_champion_judged_on_requirements_alone(registry: dict[str, str]) -> None:
    report = run_gate(
        "models:/churn/2",
        against="models:/churn@production",
        data=registry["data"],
        target="churned",
        require=["accuracy>=0.7"],
        max_regression=["f1:0"],
        promote="production",
    )
    assert report.passed
    assert report.champion is None
    assert report.champion_note is not None
    assert "models:/churn@production" in report.champion_note
    assert [c.kind for c in report.checks] == ["require"]
    assert _alias("production") == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"require": ["accuracy=>1"]}, "require"),
        ({"target": "nope"}, "target"),
        ({"slices": ["nope"]}, "slice"),
        ({"promote": "Not An Alias"}, "promote"),
        ({"promote": "latest"}, "promote"),
    ],
)
def test_usage_errors(registry: dict[str, str], kwargs: dict, field: str) -> None:
    args = {"data": registry["data"], "target": "churned", **kwargs}
    with pytest.raises(InvalidInputError) as info:
        run_gate("models:/churn/2", **args)
    assert info.value.field == field
    assert _alias("champion") == 1


def test_missing_challenger_or_data_is_not_found(registry: dict[str, str]) -> None:
    with pytest.raises(NotFoundError):
        run_gate("models:/churn/99", data=registry["data"], target="churned")
    with pytest.raises(NotFoundError):
        run_gate("models:/churn/2", data="datasets:/nope/1", target="churned")


def test_promote_needs_a_registered_challenger(registry: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    loopml.models.save_model(loopml.models.load("models:/churn/2").raw, folder)
    with pytest.raises(InvalidInputError) as info:
        run_gate(str(folder), data=registry["data"], target="churned", promote="champion")
    assert info.value.field == "promote"
    report = run_gate(str(folder), data=registry["data"], target="churned")
    assert report.challenger.resolved is None


def test_a_pinned_champion_that_does_not_exist_is_an_error(registry: dict[str, str]) -> None:
    with pytest.raises(NotFoundError):
        run_gate(
            "models:/churn/2", against="models:/churn/77", data=registry["data"], target="churned"
        )
    report = run_gate(  # an alias of a model that is not registered at all: a first release
        "models:/churn/2",
        against="models:/brand-new@champion",
        data=registry["data"],
        target="churned",
    )
    assert report.champion is None
    assert report.champion_note is not None
