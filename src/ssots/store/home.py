"""The home folder (``$SSOTS_HOME``) as the server sees it: who owns it, whether it can be
written, and the one function that writes files into it.

- ``HomeLock``: an exclusive ``fcntl.flock`` on ``$SSOTS_HOME/server.lock`` held for the
  serving process's life, the file holding its PID, host and port. A second server on
  the same SQLite home is refused with ``HomeLockedError`` naming the first; restart
  recovery and scratch clean-up run only under the lock. Homes whose database is not
  SQLite take no lock (several servers sharing PostgreSQL coordinate through it).
- ``atomic_write``: every file the server writes into the home (uploads, dataset copies,
  canonical Parquet frames, the health probe) goes through it; an ``OSError`` becomes
  ``HomeNotWritableError`` (503), whose message names what could not be written and why
  (read-only, full, no permission) without the server's paths.
- ``home_writable``: the health probe.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssots.config import Settings
from ssots.errors import ConflictError, UnavailableError

__all__ = [
    "LOCK_FILE",
    "HomeLock",
    "HomeLockedError",
    "HomeNotWritableError",
    "atomic_write",
    "clean_scratch",
    "home_writable",
    "locks_home",
    "not_writable",
    "scratch_dir",
    "write_atomically",
]

LOCK_FILE = "server.lock"
"""The lock file's name in the home folder."""

_REASONS = {
    errno.EROFS: "the home folder is read-only",
    errno.ENOSPC: "the disk holding the home folder is full",
    errno.EDQUOT: "the disk quota of the home folder is used up",
    errno.EACCES: "the server may not write to its home folder",
    errno.EPERM: "the server may not write to its home folder",
    errno.EFBIG: "the file would be larger than the system allows",
}


class HomeLockedError(ConflictError):
    """Another server owns this home folder (409; exit code 2)."""


class HomeNotWritableError(UnavailableError):
    """A file could not be written into the home folder (503)."""


def locks_home(settings: Settings) -> bool:
    """Whether a server on ``settings`` takes the home lock: when its database is SQLite."""
    return settings.database_url.startswith("sqlite")


@dataclass
class HomeLock:
    """The exclusive lock of a home folder, held until ``release`` (or the process ends).

    Take it with ``HomeLock.acquire``.
    """

    path: Path
    descriptor: int | None

    @classmethod
    def acquire(cls, home: Path, *, host: str | None = None, port: int | None = None) -> HomeLock:
        """Lock ``home`` for this process and record its PID, ``host`` and ``port``.

        Raises:
            HomeLockedError: another process holds the lock (the message names its PID
                and port).
            HomeNotWritableError: the lock file cannot be created.
        """
        path = home / LOCK_FILE
        try:
            home.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise not_writable(exc, "the server's lock file") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(descriptor)
            os.close(descriptor)
            raise HomeLockedError(
                f"another ssots server ({_describe(holder)}) is using the home folder "
                f"{home}; stop it first, or give this one its own SSOTS_HOME"
            ) from None
        record = {"pid": os.getpid(), "host": host, "port": port}
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (json.dumps(record) + "\n").encode(), 0)
        return cls(path=path, descriptor=descriptor)

    def release(self) -> None:
        """Unlock the home (closing the file); safe to repeat."""
        if self.descriptor is not None:
            os.ftruncate(self.descriptor, 0)
            os.close(self.descriptor)  # closing releases the flock
            self.descriptor = None


def _read_holder(descriptor: int) -> dict[str, Any]:
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    pid = holder.get("pid")
    port = holder.get("port")
    parts = [f"PID {pid}" if pid is not None else "PID unknown"]
    if port is not None:
        parts.append(f"port {port}")
    return ", ".join(parts)


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(partial)`` to fill a scratch file beside ``target``, then rename it to
    ``target``: a crash leaves the old file or none, never half. Raises what the file
    system raises (``OSError``); ``atomic_write`` translates it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        write(partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, write: Callable[[Path], None], *, what: str) -> Path:
    """Write ``target`` atomically with ``write`` (see ``write_atomically``), the one way
    the server writes files into its home.

    Args:
        target: the file to create or replace.
        write: fills the path it is given.
        what: what the file is, for the message, e.g. "the uploaded file".

    Raises:
        HomeNotWritableError: the file system refused (read-only, full, no permission);
            the message says which, without the server's paths.
    """
    try:
        write_atomically(target, write)
    except OSError as exc:
        raise not_writable(exc, what) from None
    return target


def not_writable(exc: OSError, what: str) -> HomeNotWritableError:
    """``exc`` (an error writing ``what`` into the home) as a message without paths."""
    code = exc.errno
    reason = _REASONS.get(code or 0) or (exc.strerror or type(exc).__name__).lower()
    name = f", {errno.errorcode[code]}" if code in errno.errorcode else ""
    number = f" (errno {code}{name})" if code is not None else ""
    return HomeNotWritableError(
        f"cannot write {what}: {reason}{number}; free some space or make SSOTS_HOME "
        "writable, then try again"
    )


def home_writable(home: Path) -> bool:
    """Whether a small file can be written into ``home`` right now (and removed)."""
    probe = scratch_dir(home) / f".probe-{os.getpid()}"
    try:
        atomic_write(probe, lambda path: path.write_bytes(b"ok\n"), what="a probe file")
    except HomeNotWritableError:
        return False
    probe.unlink(missing_ok=True)
    return True


def scratch_dir(home: Path) -> Path:
    """Where uploads are spooled while they are read: ``$SSOTS_HOME/tmp``."""
    return home / "tmp"


def clean_scratch(home: Path) -> int:
    """Remove what a crashed server left in the scratch folder; the number of entries
    removed. Call it only while holding the home lock (a running server's uploads live
    there)."""
    folder = scratch_dir(home)
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed
