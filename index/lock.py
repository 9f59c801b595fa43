"""One writer at a time per index folder: a flock on `<index>/.lock` across processes, a re-entrant lock
across threads (the engine holds it around check-then-put; `put` takes it again)."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class WriteLock:
    def __init__(self, root: Path) -> None:
        self.path = root / ".lock"
        self._thread = threading.RLock()
        self._depth = 0
        self._fh: Any = None

    @contextmanager
    def hold(self, blocking: bool = True) -> Iterator[bool]:
        """Yields True when held; with blocking=False, False when another holder has it."""
        if not self._thread.acquire(blocking=blocking):
            yield False
            return
        try:
            if self._depth == 0:
                fh = open(self.path, "a+")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    fh.close()
                    yield False
                    return
                self._fh = fh
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fh is not None:
                    fh = self._fh
                    self._fh = None
                    fcntl.flock(fh, fcntl.LOCK_UN)
                    fh.close()
        finally:
            self._thread.release()
