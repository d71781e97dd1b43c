"""A reader that hashes what it returns and refuses a blob whose bytes do not match its id."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from blake3 import blake3

from loopml.errors import CorruptObjectError, LoopmlError, ObjectStoreError
from loopml.objects._backend import RawReader

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["CORRUPT_HINT", "VerifyingReader", "check_bytes"]

CORRUPT_HINT = (
    "its stored bytes were damaged: delete the blob and push or log the artifact again, "
    "or run `loopml gc` if nothing refers to it any more"
)


def check_bytes(blob: str, data: bytes, size: int) -> bytes:
    """``data`` if it is the whole content of ``blob`` (``size`` bytes hashing to it).

    Raises:
        CorruptObjectError: it is not (naming the blob).
    """
    uri = f"blake3:{blob}"
    if len(data) != size:
        message = f"blob {uri} ended after {len(data)} of {size} bytes"
        raise CorruptObjectError(message, uri=uri, hint=CORRUPT_HINT)
    actual = blake3(data).hexdigest()
    if actual != blob:
        message = f"blob {uri} is corrupt: its content hashes to {actual}"
        raise CorruptObjectError(message, uri=uri, hint=CORRUPT_HINT)
    return data


class VerifyingReader(io.RawIOBase):
    """Raw reader over a blob of known size that checks its BLAKE3 hash.

    The check runs when the last byte is read, before that chunk is handed out, so a caller
    that reads to the end either gets every byte verified or a
    :class:`~loopml.errors.CorruptObjectError`. A caller that stops early gets no check.
    """

    def __init__(
        self,
        raw: RawReader,
        *,
        blob: str,
        size: int,
        errors: tuple[type[BaseException], ...],
    ) -> None:
        super().__init__()
        self._raw = raw
        self._blob = blob
        self._size = size
        self._errors = errors
        self._pos = 0
        self._hasher = blake3()
        self._failure: CorruptObjectError | None = None
        self._verified = False

    @property
    def uri(self) -> str:
        return f"blake3:{self._blob}"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if self._pos >= self._size:
            self._finish()
            return 0
        view = memoryview(buffer).cast("B")[: self._size - self._pos]
        try:
            count = self._raw.readinto(view)
        except LoopmlError:
            raise
        except self._errors as exc:
            raise ObjectStoreError(f"cannot read blob {self.uri}: {exc}", uri=self.uri) from exc
        if not count:
            self._fail(f"blob {self.uri} ended after {self._pos} of {self._size} bytes")
        assert count is not None
        self._hasher.update(view[:count])
        self._pos += count
        if self._pos >= self._size:
            self._finish()
        return count

    def readall(self) -> bytes:
        out = bytearray(self._size - self._pos)
        view = memoryview(out)
        filled = 0
        while filled < len(out):
            filled += self.readinto(view[filled:])
        self._finish()
        return bytes(out)

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()

    def _finish(self) -> None:
        if not self._verified:
            self._verified = True
            actual = self._hasher.hexdigest()
            if actual != self._blob:
                self._fail(f"blob {self.uri} is corrupt: its content hashes to {actual}")
        if self._failure is not None:
            raise self._failure

    def _fail(self, message: str) -> None:
        self._verified = True
        self._failure = CorruptObjectError(message, uri=self.uri, hint=CORRUPT_HINT)
        raise self._failure
