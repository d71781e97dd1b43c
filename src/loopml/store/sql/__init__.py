"""The SQL metadata store (SQLAlchemy Core + Alembic) over SQLite or PostgreSQL.

Import :class:`loopml.store.sql.store.SqlStore` (or call :func:`loopml.store.open_store`);
this package imports nothing at import time so that ``import loopml`` stays fast.
"""

from __future__ import annotations

__all__: list[str] = []
