"""Materializers: how step outputs are stored in the object store and read back.

=================  ==========================  ========================================
name               stores                      as
=================  ==========================  ========================================
``pandas.parquet`` ``pandas.DataFrame``        one Parquet file (pyarrow)
``numpy.npy``      ``numpy.ndarray``           ``.npy``, ``allow_pickle=False``
``json``           dict/list/str/int/float/... canonical JSON (sorted keys)
``model``          models loopml.models saves  a model package (every file a blob)
``path``           ``pathlib.Path``            a data version (``datasets:/...``)
``pickle``         anything else               cloudpickle, only ``allow_pickle=True``
=================  ==========================  ========================================

Example:
    >>> from loopml.pipelines.materializers import materializer_for
    >>> materializer_for(dict[str, float]).name
    'json'
"""

from __future__ import annotations

from loopml.pipelines.materializers.base import MISSING, Materializer
from loopml.pipelines.materializers.selection import (
    AutoMaterializer,
    get_materializer,
    materializer_for,
    register_materializer,
)

__all__ = [
    "MISSING",
    "AutoMaterializer",
    "Materializer",
    "get_materializer",
    "materializer_for",
    "register_materializer",
]
