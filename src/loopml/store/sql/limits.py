"""Column sizes of the SQL store, shared by the schema and the checks that guard it.

Kept apart from :mod:`~loopml.store.sql.schema` so the argument checks of the frequent
store calls import no SQLAlchemy.
"""

from __future__ import annotations

__all__ = ["BLOB_MAX", "KEY_MAX", "NAME_MAX", "VALUE_MAX", "VALUE_PREFIX_CHARS"]

#: Longest metric/param/tag key, in characters.
KEY_MAX = 250
#: Longest project or run name, in characters.
NAME_MAX = 250
#: Longest param or tag value, in characters.
VALUE_MAX = 8000
#: Longest blob hash or content id, in characters.
BLOB_MAX = 128
#: How many leading characters of a param/tag value the (key, value) indexes hold.
VALUE_PREFIX_CHARS = 200
