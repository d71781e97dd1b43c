"""The schema revisions this code knows, in a module that imports nothing (read by the fast
paths that must not pay for SQLAlchemy)."""

from __future__ import annotations

__all__ = ["KNOWN_REVISIONS", "SCHEMA_HEAD"]

#: The newest schema revision this code writes; equals Alembic's head (a test checks it).
SCHEMA_HEAD = "0005"
#: Every revision of ``migrations/versions``, oldest first.
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005")
