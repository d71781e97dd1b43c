"""Models: packages with flavors, signatures and environments; the registry.

Example:
    >>> import loopml
    >>> info = loopml.models.log_model(clf, input_example=X[:5],         # doctest: +SKIP
    ...                                registered_name="churn")
    >>> loopml.models.set_alias("churn", "champion", info.version)        # doctest: +SKIP
    >>> m = loopml.models.load("models:/churn@champion")                  # doctest: +SKIP
    >>> m.predict(df)                                                      # doctest: +SKIP

Functions are imported on first use, so ``import loopml`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "save_model": "loopml.models.saving",
    "log_model": "loopml.models.saving",
    "ModelInfo": "loopml.models.saving",
    "load": "loopml.models.loading",
    "manifest_of": "loopml.models.loading",
    "LoadedModel": "loopml.models.loading",
    "ModelManifest": "loopml.models.package",
    "Signature": "loopml.models.signature",
    "infer_signature": "loopml.models.signature",
    "PythonModel": "loopml.models.flavors.pyfunc",
    "register_model": "loopml.models.registry",
    "resolve": "loopml.models.registry",
    "set_alias": "loopml.models.registry",
    "delete_alias": "loopml.models.registry",
    "set_tag": "loopml.models.registry",
    "delete_tag": "loopml.models.registry",
    "set_description": "loopml.models.registry",
    "delete_version": "loopml.models.registry",
    "delete_model": "loopml.models.registry",
    "Environment": "loopml.models.environment",
    "capture_environment": "loopml.models.environment",
    "check_environment": "loopml.models.environment",
    "verify_environment": "loopml.models.environment",
    "write_env": "loopml.models.env_export",
    "get_model": "loopml.models.registry",
    "list_models": "loopml.models.registry",
    "list_versions": "loopml.models.registry",
    "history": "loopml.models.registry",
}

__all__ = [
    "Environment",
    "LoadedModel",
    "ModelInfo",
    "ModelManifest",
    "PythonModel",
    "Signature",
    "capture_environment",
    "check_environment",
    "delete_alias",
    "delete_model",
    "delete_tag",
    "delete_version",
    "get_model",
    "history",
    "infer_signature",
    "list_models",
    "list_versions",
    "load",
    "log_model",
    "manifest_of",
    "register_model",
    "resolve",
    "save_model",
    "set_alias",
    "set_description",
    "set_tag",
    "verify_environment",
    "write_env",
]

if TYPE_CHECKING:
    from loopml.models.env_export import write_env
    from loopml.models.environment import (
        Environment,
        capture_environment,
        check_environment,
        verify_environment,
    )
    from loopml.models.flavors.pyfunc import PythonModel
    from loopml.models.loading import LoadedModel, load, manifest_of
    from loopml.models.package import ModelManifest
    from loopml.models.registry import (
        delete_alias,
        delete_model,
        delete_tag,
        delete_version,
        get_model,
        history,
        list_models,
        list_versions,
        register_model,
        resolve,
        set_alias,
        set_description,
        set_tag,
    )
    from loopml.models.saving import ModelInfo, log_model, save_model
    from loopml.models.signature import Signature, infer_signature

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
