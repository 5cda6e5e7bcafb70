"""Settings from the environment: where state lives and how the service behaves.

| variable | meaning | default |
|---|---|---|
| SSOTS_HOME | folder of durable state | ~/.ssots |
| SSOTS_DATABASE_URL | any SQLAlchemy URL | sqlite:///$SSOTS_HOME/ssots.db |
| SSOTS_API_TOKEN | bearer token the API requires | unset |
| SSOTS_REQUEUE_INTERRUPTED | 1: re-queue jobs a dead worker left running | 0 (mark failed) |
| SSOTS_MAX_UPLOAD_MB | largest accepted upload | 200 |
| SSOTS_QUEUE_LIMIT | most queued jobs before the API answers 429 | 100 |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ssots.errors import ParameterError


@dataclass(frozen=True)
class Settings:
    """Resolved settings. ``api_token`` is a secret: it never appears in ``repr``."""

    home: Path
    database_url: str
    api_token: str | None = field(default=None, repr=False)
    requeue_interrupted: bool = False
    max_upload_bytes: int = 200 * 1024 * 1024
    queue_limit: int = 100

    @property
    def datasets_dir(self) -> Path:
        """Content-addressed dataset files (uploads and downloads)."""
        return self.home / "datasets"

    @property
    def runs_dir(self) -> Path:
        """One folder per run: weights.json and friends."""
        return self.home / "runs"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default: the process environment).

        Raises:
            ParameterError: a numeric variable is not a positive whole number.
        """
        env = os.environ if env is None else env
        home = Path(env.get("SSOTS_HOME") or Path.home() / ".ssots").expanduser()
        return cls(
            home=home,
            database_url=env.get("SSOTS_DATABASE_URL") or f"sqlite:///{home / 'ssots.db'}",
            api_token=env.get("SSOTS_API_TOKEN") or None,
            requeue_interrupted=env.get("SSOTS_REQUEUE_INTERRUPTED", "0") == "1",
            max_upload_bytes=_positive_int(env, "SSOTS_MAX_UPLOAD_MB", 200) * 1024 * 1024,
            queue_limit=_positive_int(env, "SSOTS_QUEUE_LIMIT", 100),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or int(text) < 1:
        raise ParameterError(f"`{name}` must be a whole number >= 1, e.g. {default}; got {text!r}")
    return int(text)
