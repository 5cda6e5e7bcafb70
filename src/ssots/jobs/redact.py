"""Keeping secrets out of what the job system writes: messages that reach job rows,
events, responses and logs pass through ``redact`` first."""

from __future__ import annotations

import os
from collections.abc import Mapping

SECRET_VARIABLES: tuple[str, ...] = ("SSOTS_API_TOKEN",)
SECRET_PREFIXES: tuple[str, ...] = ("KAGGLE_",)
_MIN_SECRET_LENGTH = 4
"""Shorter values (``1``, ``yes``) are settings, not secrets, and would mangle text."""


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of the secret environment variables, longest first."""
    env = os.environ if env is None else env
    values = {
        value
        for name, value in env.items()
        if (name in SECRET_VARIABLES or name.startswith(SECRET_PREFIXES))
        and len(value) >= _MIN_SECRET_LENGTH
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for value in secret_values(env):
        text = text.replace(value, "***")
    return text
