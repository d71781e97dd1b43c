"""The installed loopml version (its own module, so any layer can read it without importing
the root package and everything it re-exports)."""

__version__ = "0.1.0"
