"""A parent run with one child run per fold; a failing child is recorded as FAILED."""

import loopml

with loopml.start_run(project="cv", name="5-fold") as parent:
    for fold in range(5):
        with loopml.start_run(name=f"fold-{fold}") as child:
            loopml.log_metric("acc", 0.9 + fold / 100)
    try:
        with loopml.start_run(name="broken-fold"):
            raise RuntimeError("out of memory")
    except RuntimeError:
        pass

children = loopml.search_runs(project="cv", filter=f"attributes.parent_id = '{parent.id}'")
print(children[["name", "status"]])
assert sorted(children["status"]) == ["FAILED"] + ["FINISHED"] * 5
