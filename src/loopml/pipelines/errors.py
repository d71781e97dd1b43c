"""Errors of pipelines, in the tree of :mod:`loopml.errors`::

LoopmlError
└── StepFailedError      a step raised (after its retries): the step, the original
                         exception's type, message and traceback, and how to resume
"""

from __future__ import annotations

from loopml.errors import LoopmlError

__all__ = ["CacheDisabledWarning", "StepFailedError"]


class StepFailedError(LoopmlError):
    """A step failed after its retries, so the pipeline run failed.

    Attributes:
        step: The failed step (node name, e.g. ``train`` or ``train[3]``).
        exc_type: The original exception's type, e.g. ``ValueError`` or ``mypkg.MyError``.
        exc_message: The original exception's message.
        traceback_text: The original traceback, as the worker formatted it.
        resume_hint: A command that re-runs the pipeline; steps that succeeded are cache hits.
        step_run_id: The failed step's run; ``run_id`` is the pipeline run.
        original: The original exception object when it could travel back, else None.
    """

    def __init__(
        self,
        step: str,
        exc_type: str,
        exc_message: str,
        traceback_text: str,
        *,
        resume_hint: str,
        run_id: str | None = None,
        step_run_id: str | None = None,
        attempts: int = 1,
        original: BaseException | None = None,
    ) -> None:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(
            f"step {step!r} failed{tries}: {exc_type}: {exc_message}",
            field=step,
            run_id=run_id,
            hint=f"fix it, then resume (steps that succeeded are cached): {resume_hint}",
        )
        self.step = step
        self.exc_type = exc_type
        self.exc_message = exc_message
        self.traceback_text = traceback_text
        self.resume_hint = resume_hint
        self.step_run_id = step_run_id
        self.attempts = attempts
        self.original = original
        if traceback_text:
            self.add_note(f"step {step!r} traceback:\n{traceback_text.rstrip()}")

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (
                self.step,
                self.exc_type,
                self.exc_message,
                self.traceback_text,
                self.resume_hint,
                self.run_id,
                self.step_run_id,
                self.attempts,
            ),
        )


def _rebuild(
    step: str,
    exc_type: str,
    exc_message: str,
    traceback_text: str,
    resume_hint: str,
    run_id: str | None,
    step_run_id: str | None,
    attempts: int,
) -> StepFailedError:
    return StepFailedError(
        step,
        exc_type,
        exc_message,
        traceback_text,
        resume_hint=resume_hint,
        run_id=run_id,
        step_run_id=step_run_id,
        attempts=attempts,
    )


class CacheDisabledWarning(UserWarning):
    """A step's cache key could not be computed (a param that is not JSON-able, code whose
    source is unavailable), so the step runs every time."""
