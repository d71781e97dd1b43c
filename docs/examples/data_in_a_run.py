"""Inside a run, versions read with get() are inputs and versions added are outputs."""

from pathlib import Path

import loopml

Path("raw").mkdir(exist_ok=True)
Path("raw/train.csv").write_text("x,y\n1,0\n2,1\n3,1\n")
loopml.data.add("raw", name="train-raw")

with loopml.start_run(project="lineage-demo") as run:
    folder = loopml.data.get("datasets:/train-raw@latest")  # a cached, verified working copy
    rows = (folder / "train.csv").read_text().splitlines()[1:]
    Path("clean").mkdir(exist_ok=True)
    Path("clean/train.csv").write_text("x,y\n" + "\n".join(r for r in rows if r) + "\n")
    cleaned = loopml.data.add("clean", name="train-clean")

assert cleaned.source_run_id == run.id
print(folder)  # .loopml/checkouts/train-raw/1
