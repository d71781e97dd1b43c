"""What ``loopml models show`` and ``loopml models diff`` print: a model version with its
lineage (run, params, metrics, datasets, code commit) and its package (flavor, signature,
environment), as plain data for ``--json`` and as Rich tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loopml.cli.output import format_ms, table
from loopml.entities import to_jsonable

if TYPE_CHECKING:
    from rich.console import Console

    from loopml.entities import Run
    from loopml.store import Store

__all__ = ["compare", "describe", "print_description"]

#: Run tags that may carry the code commit when the run's source does not (imported runs).
COMMIT_TAGS = ("loopml.git.commit", "git_commit", "mlflow.source.git.commit")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def describe(uri: str) -> dict[str, Any]:
    """A model (``models:/``, ``runs:/`` or a package folder) and its lineage, as data.

    Raises:
        InvalidInputError: a malformed URI. NotFoundError: no such model or version.
    """
    from loopml.models import manifest_of
    from loopml.models.registry import resolve
    from loopml.tracking.context import get_context

    store = get_context().store
    version = resolve(uri) if uri.strip().startswith("models:/") else None
    manifest = manifest_of(uri)
    run_id = (version.run_id if version else None) or manifest.run_id
    run = _run(store, run_id)
    datasets = list(dict.fromkeys([*manifest.datasets, *_inputs(store, run)]))
    return {
        "uri": uri,
        "version": to_jsonable(version),
        "flavor": manifest.flavor,
        "flavor_version": manifest.flavor_version,
        "pickle": manifest.pickle,
        "run": _run_info(run_id, run),
        "code": _code(run),
        "params": {**manifest.params, **(run.params if run else {})},
        "metrics": to_jsonable({**manifest.metrics, **(run.metrics if run else {})}),
        "datasets": datasets,
        "signature": manifest.signature.to_dict() if manifest.signature else None,
        "environment": manifest.environment.to_dict() if manifest.environment else None,
        "files": {
            path: {"blake3": info.blake3, "size": info.size}
            for path, info in sorted(manifest.files.items())
        },
    }


def _run(store: Store, run_id: str | None) -> Run | None:
    from loopml.errors import NotFoundError

    if run_id is None:
        return None
    try:
        return store.get_run(run_id)
    except NotFoundError:  # purged since: the version keeps the id
        return None


def _inputs(store: Store, run: Run | None) -> list[str]:
    if run is None:
        return []
    edges = store.lineage_of_runs([run.id])
    return [e.ref for e in edges if e.direction == "input" and e.run_id == run.id]


def _run_info(run_id: str | None, run: Run | None) -> dict[str, Any] | None:
    if run_id is None:
        return None
    if run is None:
        return {"id": run_id, "name": None, "project": None, "status": "gone"}
    return {"id": run.id, "name": run.name, "project": run.project, "status": run.status.value}


def _code(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    commit = run.source.git_commit or next(
        (run.tags[key] for key in COMMIT_TAGS if run.tags.get(key)), None
    )
    return {
        "git_commit": commit,
        "git_dirty": run.source.git_dirty,
        "git_diff_hash": run.source.git_diff_hash,
        "entry_point": run.source.entry_point,
    }


# -- diff -------------------------------------------------------------------------------------
Row = dict[str, Any]


def _spec_text(spec: Mapping[str, Any]) -> str:
    shape = spec.get("shape")
    return spec["dtype"] if not shape else f"{spec['dtype']}{list(shape)}"


def _signature_rows(body: Mapping[str, Any] | None) -> dict[str, str]:
    if not body:
        return {}
    rows = {"kind": str(body.get("kind"))}
    for side in ("inputs", "outputs"):
        for spec in body.get(side) or ():
            rows[f"{side}.{spec['name']}"] = _spec_text(spec)
    return rows


def _environment_rows(body: Mapping[str, Any] | None) -> dict[str, str]:
    if not body:
        return {}
    rows = {"python": str(body.get("python")), "platform": str(body.get("platform"))}
    for requirement in body.get("requirements") or ():
        match = _REQUIREMENT.match(requirement)
        if match is None:
            rows[requirement] = "*"
            continue
        name, _, spec = match.groups()
        rows[name.lower().replace("_", "-")] = spec.removeprefix("==").strip() or "*"
    return rows


def _model_rows(described: Mapping[str, Any]) -> dict[str, Any]:
    run = described["run"] or {}
    code = described["code"] or {}
    return {
        "flavor": described["flavor"],
        "flavor_version": described["flavor_version"],
        "pickle": described["pickle"],
        "run": run.get("name") or run.get("id"),
        "git_commit": code.get("git_commit"),
        "datasets": ", ".join(described["datasets"]) or None,
    }


def _side_by_side(
    a: Mapping[str, Any], b: Mapping[str, Any], rank: Callable[[str], Any] = lambda key: 0
) -> dict[str, Row]:
    """Each key of ``a`` or ``b`` (``a``'s order, then ``b``'s new keys; stably sorted by
    ``rank``) with both values and whether they differ."""
    keys = sorted(dict.fromkeys([*a, *b]), key=rank)
    return {
        key: {"a": a.get(key), "b": b.get(key), "changed": a.get(key) != b.get(key)} for key in keys
    }


def _signature_rank(key: str) -> int:
    return 0 if key == "kind" else 1 if key.startswith("inputs.") else 2


def _environment_rank(key: str) -> tuple[int, str]:
    fixed = {"python": 0, "platform": 1}
    return fixed.get(key, 2), key


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, dict[str, Row]]:
    """Two :func:`describe` results side by side, by section (model, params, metrics,
    signature, environment): each key's value in ``a`` and ``b`` and whether it changed."""
    return {
        "model": _side_by_side(_model_rows(a), _model_rows(b)),
        "params": _side_by_side(a["params"], b["params"], str),
        "metrics": _side_by_side(a["metrics"], b["metrics"], str),
        "signature": _side_by_side(
            _signature_rows(a["signature"]), _signature_rows(b["signature"]), _signature_rank
        ),
        "environment": _side_by_side(
            _environment_rows(a["environment"]),
            _environment_rows(b["environment"]),
            _environment_rank,
        ),
    }


# -- printing ---------------------------------------------------------------------------------
def _overview(described: Mapping[str, Any]) -> list[tuple[str, object]]:
    version = described["version"] or {}
    run = described["run"]
    code = described["code"] or {}
    commit = code.get("git_commit")
    if commit and code.get("git_dirty"):
        commit = f"{commit} (dirty)"
    flavor = described["flavor"]
    if described["flavor_version"]:
        flavor = f"{flavor} {described['flavor_version']}"
    run_text = None
    if run:
        run_text = f"{run['name'] or '(gone)'} ({run['id']})"
    rows: list[tuple[str, object]] = []
    if version:
        rows += [
            ("name", version["name"]),
            ("version", version["version"]),
            ("aliases", ", ".join(version["aliases"]) or "-"),
            ("project", version["project"]),
            ("created", format_ms(version["created_at"])),
            ("created by", version["created_by"]),
            ("source", version["source"]),
            ("description", version["description"]),
            ("package", f"blake3:{version['package_blob']}"),
        ]
    rows += [
        ("flavor", flavor),
        ("pickle", "yes (loading runs pickle)" if described["pickle"] else "no"),
        ("run", run_text),
        ("code commit", commit),
        ("entry point", code.get("entry_point")),
    ]
    return rows


def _spec_rows(signature: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (side[:-1], str(spec["name"]), _spec_text(spec))
        for side in ("inputs", "outputs")
        for spec in signature.get(side) or ()
    ]


def print_description(out: Console, described: Mapping[str, Any]) -> None:
    """Print a :func:`describe` result as tables."""
    out.print(table(described["uri"], ["field", "value"], _overview(described)))
    for title, data in (
        ("Params", described["params"]),
        ("Metrics", described["metrics"]),
        ("Tags", (described["version"] or {}).get("tags") or {}),
    ):
        if data:
            out.print(table(title, ["key", "value"], sorted(data.items())))
    if described["datasets"]:
        out.print(table("Datasets", ["uri"], [(d,) for d in described["datasets"]]))
    if described["signature"]:
        kind = described["signature"].get("kind")
        rows = _spec_rows(described["signature"])
        out.print(table(f"Signature ({kind})", ["", "name", "type"], rows))
    env = described["environment"]
    if env:
        env_rows = [("python", env["python"]), ("platform", env["platform"])]
        env_rows += [("requires", r) for r in env["requirements"]]
        out.print(table("Environment", ["", "value"], env_rows))
