"""Things every command group needs: the tracking context from CLI settings."""

from __future__ import annotations

from loopml.tracking.context import TrackingContext, get_context

__all__ = ["context"]


def context() -> TrackingContext:
    """The tracking context for this invocation (settings from options, env and config)."""
    return get_context()
