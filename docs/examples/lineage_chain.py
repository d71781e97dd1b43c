"""Three steps (prepare, train, score) and the lineage walked from the raw data."""

import pandas as pd

import loopml

raw = loopml.data.log_table(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), name="raw")

with loopml.start_run(project="demo", name="prepare"):
    df = loopml.data.load(raw.uri)
    features = loopml.data.log_table(df.assign(x2=df.x**2), name="features")

with loopml.start_run(project="demo", name="train"):
    loopml.data.load(features.uri)
    loopml.log_metric("fit", 0.9)  # a model logged here would be an output too

with loopml.start_run(project="demo", name="score"):
    scored = loopml.data.load(features.uri).assign(score=0.5)
    loopml.data.log_table(scored, name="scores")

graph = loopml.data.lineage("datasets:/raw@latest", depth=3)
for edge in graph.to_dict()["edges"]:
    print(f"{graph.nodes[edge['from']].name} -> {graph.nodes[edge['to']].name}")
assert {n.name for n in graph.nodes.values() if n.kind == "run"} == {"prepare", "train", "score"}
assert "datasets:/scores/1" in graph.nodes
