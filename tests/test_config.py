"""Settings precedence and the .loopml folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.config import find_home, init_home, load_settings
from loopml.errors import InvalidInputError


def test_first_use_creates_home_in_cwd(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path)
    assert settings.home == tmp_path.resolve() / ".loopml"
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve()}/.loopml/loopml.db"
    assert settings.artifact_uri == (tmp_path.resolve() / ".loopml" / "objects").as_uri()
    assert settings.project == "default"


def test_home_is_found_by_walking_up(tmp_path: Path) -> None:
    init_home(tmp_path)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_home(deep) == tmp_path.resolve() / ".loopml"
    assert load_settings(cwd=deep).home == tmp_path.resolve() / ".loopml"


def test_precedence_args_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = init_home(tmp_path)
    (home / "config.toml").write_text('project = "from-file"\ntracking_uri = "sqlite:///f.db"\n')
    assert load_settings(cwd=tmp_path).project == "from-file"
    monkeypatch.setenv("LOOPML_PROJECT", "from-env")
    assert load_settings(cwd=tmp_path).project == "from-env"
    assert load_settings(cwd=tmp_path, project="from-arg").project == "from-arg"
    assert load_settings(cwd=tmp_path).tracking_uri == "sqlite:///f.db"


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    (home / "config.toml").write_text('trackin_uri = "x"\n')
    with pytest.raises(InvalidInputError, match="trackin_uri") as info:
        load_settings(cwd=tmp_path)
    assert "tracking_uri" in str(info.value.hint)


def test_broken_toml_says_which_file(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    (home / "config.toml").write_text("project = \n")
    with pytest.raises(InvalidInputError, match=r"config\.toml"):
        load_settings(cwd=tmp_path)


def test_no_home_and_create_false_explains(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="loopml init"):
        load_settings(cwd=tmp_path, create=False)


def test_data_add_link_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = init_home(tmp_path)
    assert load_settings(cwd=tmp_path).data_add_link == "copy"
    (home / "config.toml").write_text('data_add_link = "hardlink"\n')
    assert load_settings(cwd=tmp_path).data_add_link == "hardlink"
    monkeypatch.setenv("LOOPML_DATA_ADD_LINK", "copy")
    assert load_settings(cwd=tmp_path).data_add_link == "copy"
