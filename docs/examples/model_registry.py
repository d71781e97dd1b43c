"""Register two versions, promote with an alias, tag and describe, read the audit log."""

import subprocess
import sys

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import loopml

X, y = load_breast_cancer(return_X_y=True, as_frame=True)

for c in (1.0, 0.1):
    with loopml.start_run(project="churn", name=f"logreg-C{c}"):
        loopml.log_params({"C": c})
        clf = LogisticRegression(C=c, max_iter=5000).fit(X, y)
        loopml.log_metric("accuracy", clf.score(X, y))
        info = loopml.models.log_model(clf, input_example=X[:5], registered_name="churn")
        print(info.model_uri)  # models:/churn/1, then models:/churn/2

# Promote version 1, then move the alias to version 2 (one atomic, audited change).
loopml.models.set_alias("churn", "champion", 1)
loopml.models.set_alias("churn", "champion", 2)
assert loopml.models.resolve("models:/churn@champion").version == 2
assert loopml.models.resolve("models:/churn@latest").version == 2

loopml.models.set_tag("churn", "team", "risk")  # on the model
loopml.models.set_tag("churn", "validated", "yes", version=2)  # on one version
loopml.models.set_description("churn", "Predicts which customers leave next month.")

model = loopml.models.get_model("churn")
print(model.latest_version, dict(model.aliases), dict(model.tags))
# 2 {'champion': 2} {'team': 'risk'}

for event in loopml.models.history("churn"):
    print(event.action, event.version, event.key, event.old, "->", event.new, "by", event.actor)
# ... set_alias 2 champion 1 -> 2 by <you>

# The same from the command line (what a CI job would run).
loopml_cli = [sys.executable, "-m", "loopml", "models"]
subprocess.run([*loopml_cli, "list"], check=True)
subprocess.run(
    [*loopml_cli, "diff", "models:/churn/1", "models:/churn@champion", "--changed"], check=True
)
subprocess.run([*loopml_cli, "history", "churn", "--json"], check=True, capture_output=True)
