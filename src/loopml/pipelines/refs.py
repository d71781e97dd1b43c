"""Shared records of pipelines: :class:`ArtifactRef` (a stored step output) and
:class:`StepCacheEntry` (a cached step execution).

Defined in :mod:`loopml.entities.steps` so the metadata store (a lower layer) can persist
them; this module is where pipeline code imports them from.
"""

from __future__ import annotations

from loopml.entities.steps import ArtifactRef, StepCacheEntry

__all__ = ["ArtifactRef", "StepCacheEntry"]
