"""Compare two versions of a table: files, schema, rows and column statistics."""

import numpy as np
import pandas as pd

import loopml

rng = np.random.default_rng(1)
january = pd.DataFrame(
    {"amount": rng.normal(100, 15, 1000), "region": rng.choice(["eu", "us"], 1000)}
)
february = pd.DataFrame(
    {"amount": rng.normal(120, 15, 1200), "region": rng.choice(["eu", "us"], 1200)}
)
february["discount"] = 0.1  # a new column

loopml.data.log_table(january, name="sales")
loopml.data.log_table(february, name="sales")

d = loopml.data.diff("datasets:/sales/1", "datasets:/sales@latest")
assert d.table is not None
print("rows:", d.table.rows_a, "->", d.table.rows_b)
print("added columns:", [c.name for c in d.table.columns_added])
amount = next(s for s in d.table.column_shifts if s.name == "amount")
print(f"amount: mean {amount.mean_a:.1f} -> {amount.mean_b:.1f}, PSI {amount.psi:.2f}")
assert amount.psi is not None
assert amount.psi > 0.25  # a major shift
print(sorted(d.to_dict()))  # the same as `loopml data diff ... --json`
