"""Where things live: tracking URI, artifact URI, token, default project.

Precedence, highest first: explicit arguments > environment (``LOOPML_*``) >
``.loopml/config.toml`` > defaults. The ``.loopml/`` folder is found by walking up from the
current directory, as git finds ``.git``; when there is none, first use makes one in the
current directory.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from loopml.errors import InvalidInputError

__all__ = ["HOME_DIRNAME", "Settings", "find_home", "init_home", "load_settings"]

HOME_DIRNAME = ".loopml"
_ENV = {
    "tracking_uri": "LOOPML_TRACKING_URI",
    "artifact_uri": "LOOPML_ARTIFACT_URI",
    "token": "LOOPML_TOKEN",
    "project": "LOOPML_PROJECT",
    "data_add_link": "LOOPML_DATA_ADD_LINK",
}
_KNOWN_KEYS = frozenset(_ENV)


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings. ``home`` is the ``.loopml`` folder (None when all URIs are remote)."""

    tracking_uri: str
    artifact_uri: str
    project: str = "default"
    token: str | None = None
    home: Path | None = None
    #: How ``loopml data add`` stores new files when not told: ``copy`` or ``hardlink``.
    data_add_link: str = "copy"


def find_home(start: Path | None = None) -> Path | None:
    """The nearest ``.loopml`` folder at or above ``start`` (the cwd by default), or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIRNAME
        if candidate.is_dir():
            return candidate
    return None


def init_home(folder: Path | None = None) -> Path:
    """Create ``.loopml/`` (with ``objects/`` and a commented ``config.toml``) in ``folder``."""
    home = (folder or Path.cwd()).resolve() / HOME_DIRNAME
    (home / "objects").mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    if not config.exists():
        config.write_text(
            "# loopml settings for this folder; LOOPML_* environment variables override them.\n"
            '# tracking_uri = "postgresql+psycopg://user@host/db"\n'
            '# artifact_uri = "s3://bucket/prefix"\n'
            '# project = "default"\n',
            encoding="utf-8",
        )
    gitignore = home / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n", encoding="utf-8")
    return home


def _read_config(home: Path) -> dict[str, str]:
    path = home / "config.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(
            f"{path} is not valid TOML: {exc}", field=str(path), hint="fix or delete the file"
        ) from exc
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise InvalidInputError(
            f"{path} has unknown key(s) {sorted(unknown)}",
            field=sorted(unknown)[0],
            hint=f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
        )
    for key, value in data.items():
        if not isinstance(value, str):
            raise InvalidInputError(f"{path}: {key} must be a string", field=key)
    return {str(k): str(v) for k, v in data.items()}


def load_settings(
    *,
    tracking_uri: str | None = None,
    artifact_uri: str | None = None,
    project: str | None = None,
    token: str | None = None,
    cwd: Path | None = None,
    create: bool = True,
) -> Settings:
    """Resolve settings by precedence: arguments > environment > config file > defaults.

    With ``create`` (the default) and no ``.loopml`` folder found while a default local URI is
    needed, one is made in ``cwd``.
    """
    given = {
        "tracking_uri": tracking_uri,
        "artifact_uri": artifact_uri,
        "project": project,
        "token": token,
        "data_add_link": None,
    }
    env = {key: os.environ.get(var) or None for key, var in _ENV.items()}
    merged = {key: given[key] or env[key] for key in _ENV}
    home = find_home(cwd)
    if home is not None:
        for key, value in _read_config(home).items():
            merged[key] = merged[key] or value
    needs_home = merged["tracking_uri"] is None or merged["artifact_uri"] is None
    if needs_home and home is None:
        if not create:
            raise InvalidInputError(
                "no .loopml folder here or above, and no LOOPML_TRACKING_URI set",
                field="tracking_uri",
                hint="run `loopml init` first",
            )
        home = init_home(cwd)
    if merged["tracking_uri"] is None:
        assert home is not None
        merged["tracking_uri"] = f"sqlite:///{home / 'loopml.db'}"
    if merged["artifact_uri"] is None:
        assert home is not None
        merged["artifact_uri"] = (home / "objects").as_uri()
    return Settings(
        tracking_uri=str(merged["tracking_uri"]),
        artifact_uri=str(merged["artifact_uri"]),
        project=merged["project"] or "default",
        token=merged["token"],
        home=home,
        data_add_link=merged["data_add_link"] or "copy",
    )
