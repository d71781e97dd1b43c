"""Push a dataset's blobs to another object store and pull them back.

A local folder stands in for the remote here; `s3://bucket/prefix` works the same way.
"""

import pandas as pd

import loopml

v = loopml.data.log_table(pd.DataFrame({"x": range(1000)}), name="events")

report = loopml.data.push("events", "shared-remote", progress=False)
print(f"copied {report.copied} blobs ({report.bytes_copied} bytes)")
assert report.copied == 4  # the Parquet file, the manifest, the schema and the profile

# Running it again copies nothing: the remote is compared by hash first.
assert loopml.data.push("events", "shared-remote", progress=False).copied == 0

# Another machine sharing the tracking store, with an empty local object store, pulls.
loopml.configure(tracking_uri="sqlite:///.loopml/loopml.db", artifact_uri="other-objects")
assert loopml.data.pull(v.uri, "shared-remote", progress=False).copied == 4
assert len(loopml.data.load(v.uri)) == 1000
