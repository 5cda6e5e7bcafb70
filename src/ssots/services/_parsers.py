"""``ParserPool``: reading untrusted files in long-lived child processes, a few at once,
each read with a time limit.

A parse runs in a child process so that a pathological file (one that makes pandas work
for minutes or allocate gigabytes) cannot stall or bloat the serving process: past the
time limit the child is killed and the caller gets a ``DataError``. The children live
on between parses (so each pays its imports once) and retire themselves once they have
used much memory. At most ``size`` parses run at once; further callers wait for a free
child up to the time limit, then get ``UnavailableError`` (503).
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from ssots.errors import DataError, SsotsError, TooLargeError, UnavailableError

__all__ = ["RETIRE_RSS_BYTES", "ParserPool"]

log = logging.getLogger(__name__)

RETIRE_RSS_BYTES = 1024**3
"""A child whose peak memory passed this many bytes exits after its answer (a fresh one
takes its place on demand), giving the memory back to the system."""


def _child(connection: Connection) -> None:
    """A parser child: run each (function, args) it receives, answer, repeat."""
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):  # the server is gone
            return
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except SsotsError as exc:  # rebuilt in the parent (custom __init__s do not unpickle)
            answer = ("error", (type(exc), str(exc), getattr(exc, "limit", None)))
        except MemoryError:
            answer = ("memory", None)
        except Exception:
            answer = ("crash", traceback.format_exc())
        retire = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 > RETIRE_RSS_BYTES
        connection.send((answer, retire))
        if retire:
            return


class _Parser:
    """One child process and the parent's end of its pipe."""

    def __init__(self, context: Any) -> None:
        self.connection, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_child, args=(child_end,), name="ssots-parser", daemon=True
        )
        self.process.start()
        child_end.close()

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


class ParserPool:
    """Runs functions in child processes, at most ``size`` at once, each with a limit of
    ``timeout`` seconds.

    Args:
        size: most calls running at once (child processes kept).
        timeout: seconds a call may take; also the longest wait for a free child.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Parser] = []
        self._lock = threading.Lock()
        self._context: Any = None

    def call(self, function: Callable[..., Any], *args: Any, what: str) -> Any:
        """``function(*args)`` in a child process (both picklable).

        Args:
            function: a module-level function.
            args: its arguments.
            what: what is being read, for messages, e.g. "'prices.csv'".

        Raises:
            SsotsError: what ``function`` raised (same type and message).
            DataError: the call took longer than ``timeout`` seconds, ran out of memory,
                or its process died (it was killed).
            UnavailableError: ``size`` calls are running and none ended within
                ``timeout`` seconds.
            RuntimeError: ``function`` raised something else (a bug; the child's
                traceback is logged).
        """
        if not self._slots.acquire(timeout=self.timeout):
            raise UnavailableError(
                f"{self.size} files are being read already; try again in a minute"
            )
        try:
            return self._call(function, args, what)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop the idle children (running calls finish first)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for parser in idle:
            parser.stop()

    def _call(self, function: Callable[..., Any], args: tuple[Any, ...], what: str) -> Any:
        parser = self._take()
        try:
            parser.connection.send((function, args))
            if not parser.connection.poll(self.timeout):
                parser.stop()
                raise DataError(
                    f"reading {what} took longer than {self.timeout:g} s and was stopped; "
                    "pass a simpler file: one header line, one row per bar, at most a few "
                    "dozen columns"
                )
            answer, retire = parser.connection.recv()
        except (EOFError, OSError):
            parser.process.join(5)
            code = parser.process.exitcode
            parser.stop()
            if code == -signal.SIGKILL:  # what the kernel's out-of-memory killer sends
                raise DataError(
                    f"reading {what} stopped its reader process (killed), most likely for "
                    "lack of memory; pass a smaller file"
                ) from None
            raise RuntimeError(
                f"the reader process of {what} ended unexpectedly (exit code {code}); the "
                "server's log has its output"
            ) from None
        if retire:
            parser.stop()
        else:
            with self._lock:
                self._idle.append(parser)
        return _outcome(answer, what)

    def _take(self) -> _Parser:
        with self._lock:
            while self._idle:
                parser = self._idle.pop()
                if parser.process.is_alive():
                    return parser
                parser.stop()
            if self._context is None:
                methods = multiprocessing.get_all_start_methods()
                method = "forkserver" if "forkserver" in methods else "spawn"
                self._context = multiprocessing.get_context(method)
        return _Parser(self._context)


def _outcome(answer: tuple[str, Any], what: str) -> Any:
    kind, value = answer
    if kind == "ok":
        return value
    if kind == "error":
        error_type, message, limit = value
        try:
            error = (
                error_type(message, limit=limit)
                if issubclass(error_type, TooLargeError)
                else error_type(message)
            )
        except TypeError:  # an error type with other arguments: keep its message
            error = DataError(message)
        raise error
    if kind == "memory":
        raise DataError(f"{what} needs more memory to read than there is; pass a smaller file")
    log.error("reading %s crashed in its reader process:\n%s", what, value)
    raise RuntimeError(f"reading {what} crashed; the server's log has the traceback")
