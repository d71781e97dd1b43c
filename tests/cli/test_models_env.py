"""``loopml models env`` and ``loopml models verify-env`` through the real root command.

Tests marked ``requires_log_model`` use a model logged with ``loopml.models.log_model``
(registered as ``models:/churn/1``); the others use hand-made package folders, so they need
only the manifest format.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import typer
import yaml
from packaging.requirements import Requirement
from typer.testing import Result

import loopml
from loopml.cli.models_env import register
from loopml.config import init_home
from loopml.models.environment import Environment
from loopml.models.package import ModelManifest, hash_package_files

Invoke = Callable[..., Result]

requires_log_model = pytest.mark.skipif(
    importlib.util.find_spec("loopml.models.saving") is None,
    reason="needs loopml.models.log_model (the model package part of issue 4)",
)
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
NUMPY = metadata.version("numpy")


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh .loopml here; and a ``loopml models`` group even before cli/models.py exists."""
    try:
        importlib.import_module("loopml.cli.models")
    except ModuleNotFoundError as exc:
        if exc.name != "loopml.cli.models":
            raise
        group = typer.Typer(no_args_is_help=True)
        register(group)
        shim = types.ModuleType("loopml.cli.models")
        shim.app = group  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "loopml.cli.models", shim)
    return init_home()


def _package(folder: Path, env: Environment) -> Path:
    """A package folder with one data file and a manifest recording ``env``."""
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x01" * 64)
    ModelManifest(flavor="pyfunc", files=hash_package_files(folder), environment=env).write(folder)
    return folder


def _env(*requirements: str, python: str | None = None) -> Environment:
    return Environment(python or f"{HERE}.0", "linux-x86_64", requirements)


@pytest.fixture
def logged() -> Any:
    """A LogisticRegression logged and registered as models:/churn/1."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X["a"] + X["b"] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    return loopml.models.log_model(
        model, flavor="sklearn", input_example=X[:5], registered_name="churn"
    )


def test_register_adds_both_commands() -> None:
    group = typer.Typer()
    register(group)
    names = {c.name for c in group.registered_commands}
    assert names == {"env", "verify-env"}


# -- models env, on a real logged model -------------------------------------------------------
@requires_log_model
def test_env_prints_requirements_of_a_registered_model(invoke: Invoke, logged: Any) -> None:
    out = invoke("models", "env", "models:/churn/1").stdout
    pins = {Requirement(line).name: str(Requirement(line).specifier) for line in _reqs(out)}
    assert pins["scikit-learn"] == f"=={metadata.version('scikit-learn')}"
    assert pins["loopml"] == f"=={loopml.__version__}"
    # the same via the run artifact, and via an alias-free latest
    assert invoke("models", "env", logged.uri).stdout == out
    assert invoke("models", "env", "models:/churn@latest", "-o", "-").stdout == out


@requires_log_model
def test_env_conda_is_named_after_the_model(invoke: Invoke, logged: Any) -> None:
    body = yaml.safe_load(invoke("models", "env", "models:/churn/1", "--format", "conda").stdout)
    assert body["name"] == "churn"
    assert f"python={HERE}" in body["dependencies"]
    named = invoke("models", "env", "models:/churn/1", "-f", "conda", "--name", "prod").stdout
    assert yaml.safe_load(named)["name"] == "prod"


@requires_log_model
def test_env_dockerfile_to_stdout_parses(invoke: Invoke, logged: Any) -> None:
    out = invoke("models", "env", "models:/churn/1", "--format", "dockerfile").stdout
    commands = list(dockerfile.parse_string(out))
    assert commands[0].value == (f"python:{HERE}-slim",)
    assert commands[-1].cmd == "CMD" and commands[-1].json


@requires_log_model
def test_env_dockerfile_output_writes_a_build_context(
    invoke: Invoke, logged: Any, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    result = invoke("models", "env", "models:/churn/1", "-f", "dockerfile", "-o", str(context))
    assert result.stdout == ""
    assert "docker build" in result.stderr
    assert {p.name for p in context.iterdir()} >= {"Dockerfile", "requirements.txt", "model"}
    manifest = ModelManifest.read(context / "model")
    assert manifest.files == hash_package_files(context / "model")
    assert manifest.flavor == logged.manifest.flavor
    # a second run refuses to overwrite the package unless told to
    invoke("models", "env", "models:/churn/1", "-f", "dockerfile", "-o", str(context), code=1)
    invoke("models", "env", "models:/churn/1", "-f", "dockerfile", "-o", str(context), "--force")


@requires_log_model
def test_verify_env_of_a_model_logged_here_is_clean(invoke: Invoke, logged: Any) -> None:
    out = invoke("models", "verify-env", "models:/churn/1", "--strict").stdout
    assert "requirements match" in out
    body = json.loads(invoke("models", "verify-env", "models:/churn/1", "--json").stdout)
    assert body["ok"] is True and body["mismatches"] == []
    assert body["python"]["model"].startswith(HERE)


# -- models env, on package folders -----------------------------------------------------------
def test_env_output_file_and_folder(invoke: Invoke, tmp_path: Path) -> None:
    package = _package(tmp_path / "pkg", _env("loopml==0.1.0", f"numpy=={NUMPY}"))
    target = tmp_path / "out" / "reqs.txt"
    result = invoke("models", "env", str(package), "--output", str(target))
    assert result.stdout == ""
    assert _reqs(target.read_text()) == ["loopml==0.1.0", f"numpy=={NUMPY}"]
    folder = tmp_path / "folder"
    folder.mkdir()
    invoke("models", "env", str(package), "-f", "conda", "-o", str(folder))
    body = yaml.safe_load((folder / "environment.yml").read_text())
    assert body["name"] == "loopml-model"


def test_env_usage_and_missing_errors(invoke: Invoke, tmp_path: Path) -> None:
    package = _package(tmp_path / "pkg", _env("loopml==0.1.0"))
    bad = invoke("models", "env", str(package), "--format", "pipfile", code=2)
    assert "unknown environment format" in bad.stderr and "Traceback" not in bad.stderr
    missing = invoke("models", "env", "models:/nope/1", code=1)
    assert "error:" in missing.stderr
    invoke("models", "env", str(tmp_path / "not-there"), code=1)


def test_env_of_a_package_without_environment(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    ModelManifest(flavor="pyfunc", files={}).write(folder)
    result = invoke("models", "env", str(folder), code=1)
    assert "records no environment" in result.stderr
    invoke("models", "verify-env", str(folder), code=1)


# -- verify-env -------------------------------------------------------------------------------
def _bumped(version: str, part: int) -> str:
    numbers = [int(x) for x in version.split("+", maxsplit=1)[0].split(".")[:3]]
    numbers[part] += 1
    return ".".join(map(str, numbers))


def test_verify_env_warns_without_strict_and_fails_with_it(invoke: Invoke, tmp_path: Path) -> None:
    env = _env(f"numpy=={_bumped(NUMPY, 0)}", "surely-not-installed-pkg-xyz==1.0")
    package = str(_package(tmp_path / "pkg", env))

    relaxed = invoke("models", "verify-env", package)
    assert "numpy" in relaxed.stdout and "surely-not-installed-pkg-xyz" in relaxed.stdout
    assert "major" in relaxed.stdout and "missing" in relaxed.stdout
    assert "warning:" in relaxed.stderr and "--strict" in relaxed.stderr

    strict = invoke("models", "verify-env", package, "--strict", code=1)
    assert "error:" in strict.stderr and "hint:" in strict.stderr

    body = json.loads(invoke("models", "verify-env", package, "--json").stdout)
    assert body["ok"] is False
    assert {(m["package"], m["severity"]) for m in body["mismatches"]} == {
        ("numpy", "major"),
        ("surely-not-installed-pkg-xyz", "missing"),
    }
    strict_json = invoke("models", "verify-env", package, "--json", "--strict", code=1)
    assert json.loads(strict_json.stdout)["ok"] is False


def test_verify_env_python_mismatch_is_serious(invoke: Invoke, tmp_path: Path) -> None:
    package = str(_package(tmp_path / "pkg", _env(python="2.7.18")))
    body = json.loads(invoke("models", "verify-env", package, "--json").stdout)
    assert body["mismatches"] == [
        {
            "package": "python",
            "expected": "2.7",
            "found": HERE,
            "severity": "python",
            "serious": True,
        }
    ]
    invoke("models", "verify-env", package, "--strict", code=1)


def test_verify_env_minor_and_patch_never_fail(invoke: Invoke, tmp_path: Path) -> None:
    env = _env(f"numpy=={_bumped(NUMPY, 1)}", f"pyyaml=={_bumped(metadata.version('pyyaml'), 2)}")
    package = str(_package(tmp_path / "pkg", env))
    result = invoke("models", "verify-env", package, "--strict")
    assert "minor" in result.stdout and "patch" in result.stdout
    assert result.stderr == ""


def _reqs(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith(("#", "-"))]
