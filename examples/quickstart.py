"""loopml quickstart: train several scikit-learn models, track them, compare them, register
them, and let a gate decide which one becomes the champion.

Run it with `make demo` (or `python quickstart.py` inside the venv). Everything lands in
./.loopml (SQLite + a content-addressed object folder); no server needed. Afterwards try:

    loopml runs list --project quickstart
    loopml runs compare <id> <id>
    loopml models list
    loopml models show models:/breast-cancer@champion
    loopml gate models:/breast-cancer/1 --against models:/breast-cancer@champion \
        --data datasets:/breast-cancer-eval@latest --target target
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml

PROJECT = "quickstart"


def candidates() -> dict[str, tuple[object, dict[str, object]]]:
    """The models to compare, with the params worth logging."""
    return {
        "logreg-C0.1": (
            make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)),
            {"model": "logreg", "C": 0.1},
        ),
        "logreg-C1": (
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)),
            {"model": "logreg", "C": 1.0},
        ),
        "forest-100": (
            RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0),
            {"model": "forest", "n_estimators": 100, "max_depth": 6},
        ),
        "gboost-100": (
            GradientBoostingClassifier(n_estimators=100, random_state=0),
            {"model": "gboost", "n_estimators": 100, "learning_rate": 0.1},
        ),
    }


def main() -> None:
    data = load_breast_cancer(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=42, stratify=data.target
    )
    console = Console()
    # The evaluation split is a dataset version: the gate below scores every model on it.
    evaluation = loopml.data.log_table(
        x_test.assign(target=y_test.to_numpy()), name="breast-cancer-eval"
    )
    versions: dict[str, int] = {}
    with loopml.start_run(project=PROJECT, name="comparison", tags={"dataset": "breast_cancer"}):
        for name, (model, params) in candidates().items():
            with loopml.start_run(name=name, tags={"family": str(params["model"])}) as run:
                loopml.log_params(params)
                started = time.perf_counter()
                model.fit(x_train, y_train)  # type: ignore[attr-defined]
                loopml.log_metric("fit_seconds", time.perf_counter() - started)
                proba = model.predict_proba(x_test)[:, 1]  # type: ignore[attr-defined]
                pred = (proba >= 0.5).astype(int)
                loopml.log_metrics(
                    {
                        "accuracy": accuracy_score(y_test, pred),
                        "f1": f1_score(y_test, pred),
                        "roc_auc": roc_auc_score(y_test, proba),
                        "log_loss": log_loss(y_test, proba),
                    }
                )
                fig, ax = plt.subplots(figsize=(4, 4))
                ConfusionMatrixDisplay.from_predictions(y_test, pred, ax=ax, colorbar=False)
                loopml.log_figure(fig, "confusion.png")
                plt.close(fig)
                loopml.log_dict({"classes": list(data.target_names)}, "labels.json")
                info = loopml.models.log_model(
                    model, input_example=x_test[:5], registered_name="breast-cancer"
                )
                assert info.version is not None
                versions[name] = info.version
                console.print(f"logged [bold]{name}[/] as run {run.id}, model {info.model_uri}")

    runs = loopml.search_runs(
        project=PROJECT, filter="metrics.roc_auc > 0.9", order_by=["metrics.roc_auc DESC"]
    )
    table = Table(title=f"{len(runs)} runs with ROC AUC > 0.9, best first")
    for column in ("name", "params.model", "metrics.accuracy", "metrics.f1", "metrics.roc_auc"):
        table.add_column(column)
    for _, row in runs.iterrows():
        table.add_row(
            row["name"],
            row["params.model"],
            *(f"{row[c]:.4f}" for c in ("metrics.accuracy", "metrics.f1", "metrics.roc_auc")),
        )
    console.print(table)
    promote_through_gate(console, runs, versions, evaluation.uri)
    console.print(
        "Next: [bold]loopml runs list --project quickstart[/], "
        "[bold]loopml models show models:/breast-cancer@champion[/]"
    )


def promote_through_gate(
    console: Console, runs: object, versions: dict[str, int], data_uri: str
) -> None:
    """The best model faces the gate first (no champion yet: requirements alone), then the
    runner-up challenges it; `champion` moves only when a gate passes."""
    import loopml.gates

    ranked = [versions[name] for name in runs["name"]]  # type: ignore[index]
    for version in ranked[:2]:
        report = loopml.gates.run_gate(
            f"models:/breast-cancer/{version}",
            against="models:/breast-cancer@champion",
            data=data_uri,
            target="target",
            require=["accuracy>=0.9", "roc_auc>=0.95"],
            max_regression=["f1:0.0"],
            promote="champion",
            seed=0,
        )
        verdict = "[green]PASS[/]" if report.passed else "[red]FAIL[/]"
        console.print(f"gate for models:/breast-cancer/{version}: {verdict}")
    champion = loopml.models.resolve("models:/breast-cancer@champion")
    console.print(f"champion is now [bold]models:/breast-cancer/{champion.version}[/]")


if __name__ == "__main__":
    main()
