"""Version a folder, change it, see what changed, and check an old version out again."""

from pathlib import Path

import loopml

raw = Path("data/raw")
raw.mkdir(parents=True, exist_ok=True)
(raw / "customers.csv").write_text("id,plan\n1,free\n2,pro\n")
(raw / "events.csv").write_text("id,event\n1,login\n")

v1 = loopml.data.add("data/raw/", name="churn-raw", message="first export")
print(v1.uri, v1.file_count, "files")  # datasets:/churn-raw/1 2 files

# Adding the same content again makes no new version.
assert loopml.data.add("data/raw/", name="churn-raw").id == v1.id

(raw / "events.csv").write_text("id,event\n1,login\n2,logout\n")
(raw / "notes.txt").write_text("export of 2024-05-01\n")
report = loopml.data.status("data/raw/")
print(report.modified, report.added)  # ['events.csv'] ['notes.txt']

v2 = loopml.data.add("data/raw/", name="churn-raw", message="second export")
assert v2.version == 2
assert loopml.data.status("data/raw/").clean

print([(v.version, v.message) for v in loopml.data.versions("churn-raw")])

# Version 1 as files again, every blob verified (hardlinked where the filesystem allows).
old = loopml.data.checkout("datasets:/churn-raw/1", "restored")
assert (old / "events.csv").read_text() == "id,event\n1,login\n"
assert not (old / "notes.txt").exists()

for entry in loopml.data.files("datasets:/churn-raw@latest"):
    print(entry.path, entry.size, entry.blob[:12])
