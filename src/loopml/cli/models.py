"""``loopml models``: list, versions, show, diff, alias, unalias, tag, describe, delete,
history (and env, verify-env from :mod:`loopml.cli.models_env`).

Changes go through :mod:`loopml.models` (so each is audited with the acting user); what
``show`` and ``diff`` print is assembled by :mod:`loopml.cli.models_view`.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from loopml.cli.output import JSON_OPTION, console, emit_json, format_ms, format_value, table

if TYPE_CHECKING:
    from loopml.entities import RegisteredModel

__all__ = ["app"]

app = typer.Typer(
    help="Registered models: versions, aliases, tags, descriptions, lineage, audit log.",
    no_args_is_help=True,
    add_completion=False,
)

URI_HELP = "models:/NAME/VERSION, models:/NAME@ALIAS (@latest: the newest version)."
VERSION_OPTION = typer.Option(
    "--version", "-v", min=1, help="A version of the model instead of the model itself."
)


def _aliases_text(aliases: dict[str, int] | Any) -> str:
    return ", ".join(f"{alias} → {version}" for alias, version in sorted(aliases.items())) or "-"


def _list_row(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "latest_version": model.latest_version,
        "aliases": dict(model.aliases),
        "updated_at": model.updated_at,
    }


@app.command("list")
def list_models(as_json: bool = JSON_OPTION) -> None:
    """List registered models: latest version, aliases (alias → version), last change."""
    from loopml.models import list_models as find

    models = find()
    if as_json:
        emit_json([_list_row(model) for model in models])
        return
    rows = [
        (m.name, m.latest_version, _aliases_text(m.aliases), format_ms(m.updated_at))
        for m in models
    ]
    console().print(table(None, ["name", "latest", "aliases", "updated"], rows))
    if not models:
        console().print(
            "No registered models yet: loopml.models.log_model(model, registered_name=NAME)"
            " makes one."
        )


@app.command("versions")
def versions(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """List a model's versions, oldest first, with their aliases and sources."""
    from loopml.models import list_versions

    found = list_versions(name)
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            v.version,
            ", ".join(v.aliases) or "-",
            v.flavor,
            format_ms(v.created_at),
            v.created_by,
            v.run_id,
            v.source,
            v.description or "",
        )
        for v in found
    ]
    columns = ["version", "aliases", "flavor", "created", "by", "run", "source", "description"]
    console().print(table(name, columns, rows))


@app.command("show")
def show(
    uri: Annotated[str, typer.Argument(help=URI_HELP)],
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a version and its lineage: run, params, metrics, datasets, code commit, flavor,
    signature and environment."""
    from loopml.cli.models_view import describe, print_description

    described = describe(uri)
    if as_json:
        emit_json(described)
        return
    print_description(console(), described)


@app.command("diff")
def diff(
    uri_a: Annotated[str, typer.Argument(help=f"The first model. {URI_HELP}")],
    uri_b: Annotated[str, typer.Argument(help="The second model (same forms).")],
    only_changed: Annotated[bool, typer.Option("--changed", help="Only rows that differ.")] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare two versions side by side: params, metrics, signature, environment; changed
    rows are highlighted."""
    from loopml.cli.models_view import compare, describe

    a, b = describe(uri_a), describe(uri_b)
    sections = compare(a, b)
    if as_json:
        emit_json(
            {
                "a": uri_a,
                "b": uri_b,
                **sections,
                "changed": [
                    f"{section}.{key}"
                    for section, rows in sections.items()
                    for key, row in rows.items()
                    if row["changed"]
                ],
            }
        )
        return
    rows: list[list[object]] = []
    for section, entries in sections.items():
        for key, row in entries.items():
            if only_changed and not row["changed"]:
                continue
            style = "bold yellow" if row["changed"] else ""
            mark = "≠" if row["changed"] else ""
            rows.append(
                [
                    Text(f"{section}.{key}", style=style),
                    Text(format_value(row["a"]), style=style),
                    Text(format_value(row["b"]), style=style),
                    Text(mark, style=style),
                ]
            )
    console().print(table(None, ["", uri_a, uri_b, ""], rows))
    changed = sum(row["changed"] for entries in sections.values() for row in entries.values())
    console().print(f"{changed} row(s) differ." if changed else "No differences.")


@app.command("alias")
def alias(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. champion.")],
    version: Annotated[int, typer.Argument(min=1, help="The version it should point at.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Point ALIAS at VERSION (moving it atomically if it points elsewhere)."""
    from loopml.models import get_model, set_alias

    previous = get_model(name).aliases.get(alias_name)
    set_alias(name, alias_name, version)
    if as_json:
        emit_json({"name": name, "alias": alias_name, "version": version, "previous": previous})
        return
    was = "" if previous is None else f" (was {previous})"
    if previous == version:
        was = " (unchanged)"
    console().print(f"models:/{name}@{alias_name} → version {version}{was}.")


@app.command("unalias")
def unalias(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="The alias to remove.")],
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove an alias."""
    from loopml.models import delete_alias, get_model

    previous = get_model(name).aliases.get(alias_name)
    delete_alias(name, alias_name)
    if as_json:
        emit_json({"name": name, "alias": alias_name, "previous": previous})
        return
    console().print(f"Removed models:/{name}@{alias_name} (it pointed at version {previous}).")


@app.command("tag")
def tag(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    pairs: Annotated[
        list[str],
        typer.Argument(metavar="KEY=VALUE...", help="Tags to set (with --delete: KEYs)."),
    ],
    version: Annotated[int | None, VERSION_OPTION] = None,
    remove: Annotated[bool, typer.Option("--delete", help="Remove the tags instead.")] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set (or with --delete remove) tags of a model, or of one version with --version."""
    from loopml.models import delete_tag, set_tag

    parsed = [_tag_pair(pair, remove=remove) for pair in pairs]
    for key, value in parsed:
        if remove:
            delete_tag(name, key, version=version)
        else:
            set_tag(name, key, value, version=version)
    target = f"models:/{name}" + ("" if version is None else f"/{version}")
    if as_json:
        tags = {key: None if remove else value for key, value in parsed}
        emit_json({"name": name, "version": version, "tags": tags})
        return
    done = ", ".join(key if remove else f"{key}={value}" for key, value in parsed)
    console().print(f"{'Removed' if remove else 'Set'} on {target}: {done}.")


def _tag_pair(text: str, *, remove: bool) -> tuple[str, str]:
    from loopml.errors import InvalidInputError

    key, sep, value = text.partition("=")
    if remove:
        return key, ""
    if not sep or not key:
        raise InvalidInputError(
            f"tag {text!r} is not KEY=VALUE",
            field="tag",
            hint="e.g. loopml models tag churn team=risk (remove with --delete team)",
        )
    return key, value


@app.command("describe")
def describe_(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    text: Annotated[str, typer.Argument(help="The description ('' clears it).")],
    version: Annotated[int | None, VERSION_OPTION] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set the description of a model, or of one version with --version."""
    from loopml.models import set_description

    set_description(name, text, version=version)
    if as_json:
        emit_json({"name": name, "version": version, "description": text or None})
        return
    target = f"models:/{name}" + ("" if version is None else f"/{version}")
    console().print(f"Described {target}." if text else f"Cleared the description of {target}.")


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int | None, VERSION_OPTION] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete a model (all its versions) or one version with --version; asks first unless
    --yes. Aliases of deleted versions go too; the audit log keeps the record."""
    from loopml.models import delete_model, delete_version, get_model, list_versions

    if version is None:
        count = len(list_versions(name))
        what = f"model {name!r} and its {count} version(s)"
    else:
        get_model(name)
        what = f"version {version} of model {name!r}"
    if not yes:
        typer.confirm(f"Delete {what}?", abort=True, err=True)
    if version is None:
        delete_model(name)
    else:
        delete_version(name, version)
    if as_json:
        emit_json({"name": name, "version": version, "deleted": True})
        return
    console().print(f"Deleted {what}. `loopml models history {name}` keeps the record.")


@app.command("history")
def history(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[
        int | None, typer.Option("--version", "-v", min=1, help="Only events of this version.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the audit log of a model, oldest first: who changed what, when, old → new."""
    from loopml.models import history as model_history

    events = model_history(name, version=version)
    if as_json:
        emit_json(events)
        return
    rows = [
        (
            format_ms(e.at),
            e.actor,
            e.action,
            e.version,
            e.key,
            _change(e.old, e.new),
        )
        for e in events
    ]
    console().print(
        table(f"{name}: history", ["time", "actor", "action", "version", "key", "change"], rows)
    )


def _change(old: str | None, new: str | None) -> str:
    if old is None and new is None:
        return ""
    return f"{old if old is not None else '∅'} → {new if new is not None else '∅'}"


if importlib.util.find_spec("loopml.cli.models_env") is not None:
    from loopml.cli.models_env import register as _register_env

    _register_env(app)
