"""SQLite with writers queued on a file lock instead of SQLite's busy loop.

Every write transaction begins IMMEDIATE (see settings), so SQLite lets one writer in and makes
the others retry in its busy handler, which sleeps 1, 2, 5, 10 ms... between tries: under load
most of a short transaction's time goes to those sleeps. Here each connection first takes an
exclusive `flock` on a file beside the database, retrying every 0.1 to 1 ms, so the next writer
(in any thread or process) goes in soon after the one before it commits. A process that dies
loses its lock. Threads of one process first queue on a lock of their own, so only one of them
at a time polls the file lock (the others wait without spending the processor).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

WRITER_TIMEOUT = 30.0
_IN_PROCESS: dict[str, threading.Lock] = {}
_IN_PROCESS_GUARD = threading.Lock()


def _process_lock(name: str) -> threading.Lock:
    with _IN_PROCESS_GUARD:
        lock = _IN_PROCESS.get(name)
        if lock is None:
            lock = _IN_PROCESS[name] = threading.Lock()
        return lock


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_fd: int | None = None
    _holds_writer = False
    _local_writer: threading.Lock | None = None

    def _writer_lock_fd(self) -> int | None:
        name = str(self.settings_dict["NAME"])
        if not name or name == ":memory:" or name.startswith("file:"):
            return None
        if self._writer_fd is None:
            self._writer_fd = os.open(name + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        return self._writer_fd

    def _acquire_writer(self) -> None:
        fd = self._writer_lock_fd()
        if fd is None:
            return
        deadline = time.monotonic() + WRITER_TIMEOUT
        local = _process_lock(str(self.settings_dict["NAME"]))
        if not local.acquire(timeout=WRITER_TIMEOUT):
            raise OperationalError("database is locked (no write turn within 30 s)")
        pause = 0.0001
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OperationalError(
                            "database is locked (no write turn within 30 s)"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)
        except BaseException:
            local.release()
            raise
        self._local_writer = local
        self._holds_writer = True

    def _release_writer(self) -> None:
        if self._holds_writer and self._writer_fd is not None:
            self._holds_writer = False
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)
            local, self._local_writer = self._local_writer, None
            if local is not None:
                local.release()

    def _start_transaction_under_autocommit(self) -> None:
        self._acquire_writer()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None
