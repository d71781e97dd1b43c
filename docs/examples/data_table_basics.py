"""Version a table, read it back inside a run (recorded as an input), look at its profile."""

import numpy as np
import pandas as pd

import loopml

rng = np.random.default_rng(0)
customers = pd.DataFrame(
    {
        "tenure_months": rng.integers(1, 72, 500),
        "monthly_fee": rng.normal(40, 12, 500).round(2),
        "plan": rng.choice(["basic", "plus", "pro"], 500, p=[0.5, 0.3, 0.2]),
        "churned": rng.random(500) < 0.2,
    }
)

v1 = loopml.data.log_table(customers, name="churn-features", message="first extract")
print(v1.uri, v1.num_rows, "rows")  # datasets:/churn-features/1 500 rows

# The same data again is the same version: nothing new is stored.
assert loopml.data.log_table(customers, name="churn-features").version == 1

with loopml.start_run(project="churn", name="train") as run:
    df = loopml.data.load("datasets:/churn-features@latest")  # an input edge of the run
    loopml.log_metric("churn_rate", float(df["churned"].mean()))

pd.testing.assert_frame_equal(df, customers)

# The profile stored with the version (no data read): one entry per column.
fee = next(c for c in loopml.data.profile(v1.uri)["columns"] if c["name"] == "monthly_fee")
print(f"monthly_fee: mean {fee['mean']:.2f}, median {fee['quantiles']['0.5']:.2f}")
assert abs(fee["mean"] - customers["monthly_fee"].mean()) < 1e-9
