"""The worker threads of :meth:`ObjectStore.put_files`.

Plain threads pulling indexes from a shared iterator, not an executor with one future per
file: with 20,000 small files the futures alone cost more than the copies. Each thread owns
one buffer, reused for every file it stores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from loopml.objects.blobs import BlobInfo
from loopml.objects.store import CHUNK_SIZE  # store imports this module lazily

__all__ = ["ingest_files"]


def ingest_files(
    ingest: Callable[[str, memoryview], tuple[BlobInfo, bool]],
    names: Sequence[str],
    *,
    workers: int,
    on_stored: Callable[[BlobInfo, bool], None] | None,
) -> list[BlobInfo]:
    """``ingest(name, buffer) -> (blob, written)`` for every name, in up to ``workers``
    threads.

    The first error stops the other threads (after the file each is on) and is raised.
    """
    results: list[BlobInfo | None] = [None] * len(names)
    indexes = iter(range(len(names)))  # next() on a range iterator is atomic
    errors: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        buffer = memoryview(bytearray(CHUNK_SIZE))
        try:
            for index in indexes:
                if stop.is_set():
                    return
                info, written = ingest(names[index], buffer)
                results[index] = info
                if on_stored is not None:
                    on_stored(info, written)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the calling thread
            errors.append(exc)
            stop.set()

    count = max(1, min(workers, len(names)))
    if count == 1:
        work()
    else:
        threads = [
            threading.Thread(target=work, name=f"loopml-put-{i}", daemon=True) for i in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    done = [info for info in results if info is not None]
    assert len(done) == len(names)
    return done
