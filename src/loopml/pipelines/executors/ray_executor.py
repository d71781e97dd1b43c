"""The Ray executor: each step a Ray task, on a local Ray or a cluster.

Where Ray runs is decided by :func:`resolve_ray_address`: the ``address`` argument, then
``LOOPML_RAY_ADDRESS``, then ``RAY_ADDRESS``; with none of them a local Ray is started with
one CPU slot per core (or the Ray this process already started is reused).

Step outputs never travel through the driver: a worker loads its inputs from the object
store and writes its outputs there, and the task result holds only their refs (hashes and
URIs). The task carries the tracking settings; the driver alone writes metadata.

Workers must import the step's module. On a local Ray the driver's own import folders (the
current folder, the pipeline's folder, anything on ``sys.path`` outside the interpreter) go
to the workers as ``PYTHONPATH``; on a cluster the current folder is shipped as the job's
``working_dir`` (pass ``runtime_env=`` to choose yourself).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInputError, MissingExtraError
from loopml.pipelines.executors.base import Executor

if TYPE_CHECKING:
    from loopml.pipelines.task import StepResult, StepTask

__all__ = ["ADDRESS_VARIABLES", "RayExecutor", "ensure_ray", "resolve_ray_address", "worker_paths"]

#: Environment variables read for the cluster address, first wins.
ADDRESS_VARIABLES = ("LOOPML_RAY_ADDRESS", "RAY_ADDRESS")

#: Never shipped to a cluster with the working folder.
_WORKING_DIR_EXCLUDES = [".loopml/", ".git/", ".venv/", "**/__pycache__/", "bench/.venv-*/"]

_init_lock = threading.Lock()


def resolve_ray_address(
    address: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Where Ray runs: ``address``, else ``LOOPML_RAY_ADDRESS``, else ``RAY_ADDRESS``.

    Returns None for "start (or reuse) a local Ray". Nothing is connected to.

    Example:
        >>> resolve_ray_address(None, {"RAY_ADDRESS": "ray://head:10001"})
        'ray://head:10001'
        >>> resolve_ray_address("auto", {"LOOPML_RAY_ADDRESS": "ray://other:10001"})
        'auto'
    """
    if address is not None and address.strip():
        return address.strip()
    env = os.environ if environ is None else environ
    for variable in ADDRESS_VARIABLES:
        value = env.get(variable, "").strip()
        if value:
            return value
    return None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtraError("the ray executor", "ray", "ray") from None
    return ray


def worker_paths() -> list[str]:
    """The driver's import folders a local worker needs: the current folder and every
    ``sys.path`` entry that is a folder outside the interpreter (site-packages excluded)."""
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths: list[str] = []
    for entry in [os.getcwd(), *sys.path]:
        folder = Path(entry or os.getcwd()).resolve()
        if not folder.is_dir() or any(folder.is_relative_to(p) for p in prefixes):
            continue
        if str(folder) not in paths:
            paths.append(str(folder))
    return paths


def _pythonpath_env(extra: list[str] | None = None) -> dict[str, Any]:
    paths = [*(extra or []), *worker_paths()]
    inherited = os.environ.get("PYTHONPATH", "")
    if inherited:
        paths.extend(p for p in inherited.split(os.pathsep) if p and p not in paths)
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


def ensure_ray(address: str | None = None, **ray_init_kwargs: Any) -> tuple[Any, bool]:
    """Connect to Ray (or start a local one) unless this process already did.

    Returns ``(ray module, local)``: ``local`` is True when Ray runs on this machine for
    this process (started here without an address), so workers see this file system.

    Raises:
        MissingExtraError: ray is not installed.
    """
    ray = _import_ray()
    resolved = resolve_ray_address(address)
    with _init_lock:
        if ray.is_initialized():
            return ray, resolved is None
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,  # step output is captured into the step's run
            "logging_level": logging.WARNING,
            "ignore_reinit_error": True,
        }
        if resolved is None:
            options["num_cpus"] = os.cpu_count() or 1
            options["runtime_env"] = _pythonpath_env()
        else:
            options["address"] = resolved
            options["runtime_env"] = {
                "working_dir": os.getcwd(),
                "excludes": list(_WORKING_DIR_EXCLUDES),
            }
        options.update(ray_init_kwargs)
        ray.init(**options)
    return ray, resolved is None


def _run_task(task: StepTask) -> StepResult:
    """What a Ray worker runs: the shared step body (errors come back in the result)."""
    from loopml.pipelines.task import execute_task

    return execute_task(task)


def _unwrap(error: BaseException) -> BaseException:
    """Ray's wrappers around a worker exception -> the exception the code raised.

    Ray reports a task failure as ``RayTaskError(<cause type>)`` whose ``cause`` is the
    original exception (or a ``RaySystemError`` whose ``client_exc`` is, when an argument
    could not be unpickled). The original is returned with the worker's traceback text
    attached as a note, so its type, message and traceback all show.
    """
    current = error
    texts: list[str] = []
    for _ in range(5):  # wrappers nest at most a few deep
        inner = getattr(current, "cause", None)
        if not isinstance(inner, BaseException):
            inner = getattr(current, "client_exc", None)
        if not isinstance(inner, BaseException):
            break
        text = str(current).strip()
        if text:
            texts.append(text)
        current = inner
    if current is error:
        return error
    notes = getattr(current, "__notes__", [])
    for text in texts[:1]:  # the outermost text holds the worker's whole traceback
        note = f"raised on a Ray worker:\n{text}"
        if note not in notes:
            current.add_note(note)
    return current


class RayExecutor(Executor):
    """Run each step as a Ray task.

    Args:
        address: A Ray address (``auto``, ``ray://head:10001``, ``host:6379``). Default:
            ``LOOPML_RAY_ADDRESS``, then ``RAY_ADDRESS``, else a local Ray (started with
            ``num_cpus=os.cpu_count()``, no dashboard) or the one this process already runs.
        num_cpus: CPUs each step task asks for (default 1).
        **ray_init_kwargs: Passed to ``ray.init`` when this executor starts Ray
            (e.g. ``runtime_env=``, ``num_cpus=``).

    Example:
        >>> from loopml.pipelines.executors.ray_executor import RayExecutor
        >>> with RayExecutor() as executor:                          # doctest: +SKIP
        ...     result = executor.submit(task).result()

    Raises:
        MissingExtraError: ray is not installed (``pip install 'loopml[ray]'``).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, *, num_cpus: float = 1, **ray_init_kwargs: Any
    ) -> None:
        if num_cpus <= 0:
            raise InvalidInputError(f"num_cpus must be positive, got {num_cpus}", field="num_cpus")
        self._ray, self._local = ensure_ray(address, **ray_init_kwargs)
        # the task itself carries the folder its step's module imports from (sys_path)
        self._remote = self._ray.remote(_run_task).options(num_cpus=num_cpus, max_retries=0)
        self._closed = False

    @property
    def max_workers(self) -> int:
        """CPUs of the cluster (each step asks for one by default)."""
        cpus = self._ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus))

    def submit(self, task: StepTask) -> Future[StepResult]:
        """Start ``task`` as a Ray task; the future holds its :class:`StepResult`.

        A step that raises comes back as ``StepResult.error``; if Ray itself fails the task
        (a worker died, the task could not be unpickled), the future fails with the
        original exception, not Ray's wrapper.
        """
        if self._closed:
            raise InvalidInputError("this Ray executor is closed", field="executor")
        ray_future: Future[StepResult] = self._remote.remote(task).future()
        result: Future[StepResult] = Future()

        def relay(done: Future[StepResult]) -> None:
            if result.done():  # cancelled by the caller meanwhile
                return
            if done.cancelled():
                result.cancel()
                return
            error = done.exception()
            if error is not None:
                result.set_exception(_unwrap(error))
            else:
                result.set_result(done.result())

        ray_future.add_done_callback(relay)
        return result

    def close(self) -> None:
        """Stop accepting tasks. Ray keeps running for the rest of the process, so the
        next pipeline run does not pay for starting it again."""
        self._closed = True
