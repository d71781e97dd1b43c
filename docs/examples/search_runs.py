"""Find runs with a filter and get a pandas DataFrame back."""

import loopml

for depth in (2, 4, 6, 8):
    with loopml.start_run(project="churn", name=f"depth-{depth}"):
        loopml.log_params({"depth": depth, "lr": 0.1})
        loopml.log_metric("acc", 0.80 + depth / 100)

df = loopml.search_runs(
    project="churn",
    filter="metrics.acc > 0.83 and params.lr = '0.1'",
    order_by=["metrics.acc DESC"],
)
print(df[["name", "params.depth", "metrics.acc"]])
assert list(df["name"]) == ["depth-8", "depth-6", "depth-4"]
