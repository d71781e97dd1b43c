"""Log a file and a folder, then download them again (verified against their hashes)."""

from pathlib import Path

import loopml

Path("report").mkdir(exist_ok=True)
Path("report/summary.md").write_text("# Summary\nall good\n")
Path("report/data.csv").write_text("a,b\n1,2\n")
Path("model.bin").write_bytes(b"\x00weights" * 1000)

with loopml.start_run(project="artifacts-demo") as run:
    loopml.log_artifact("model.bin", artifact_path="model")
    loopml.log_artifacts("report", artifact_path="report")

local = loopml.download_artifacts(run.id, "report", dest="downloaded")
print(sorted(p.name for p in local.iterdir()))
assert (local / "summary.md").read_text() == "# Summary\nall good\n"
