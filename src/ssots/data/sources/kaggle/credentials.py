"""Which Kaggle credentials the libraries will use, and whether they look usable.

Credentials are the libraries' own, in their order: ``KAGGLE_API_TOKEN`` (a token, or the
path of a file holding one), ``~/.kaggle/access_token``, ``KAGGLE_USERNAME`` plus
``KAGGLE_KEY``, then ``kaggle.json`` in ``KAGGLE_CONFIG_DIR`` or ``~/.kaggle``. Public
datasets download without any. Only the source is ever reported, never the secret itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

HOW_TO_SET_CREDENTIALS = (
    "Set KAGGLE_API_TOKEN to an API token from https://www.kaggle.com/settings/api, or set "
    "KAGGLE_USERNAME and KAGGLE_KEY, or save kaggle.json in ~/.kaggle (chmod 600); "
    "`ssots data auth-check` shows which source is in use"
)


@dataclass(frozen=True)
class CredentialStatus:
    """Which credentials the Kaggle libraries will use; never the secret itself.

    Attributes:
        source: where they come from, e.g. "the KAGGLE_API_TOKEN environment variable";
            None when there are none.
        warnings: things to fix, e.g. a kaggle.json readable by other users.
        problem: why the credentials cannot be used at all (malformed kaggle.json), or None.
    """

    source: str | None
    warnings: tuple[str, ...] = ()
    problem: str | None = None


def credential_status() -> CredentialStatus:
    """Find the credentials the libraries will use, in their order of precedence."""
    token = os.environ.get("KAGGLE_API_TOKEN")
    if token:
        if _is_file(token):
            return _file_status(Path(token), f"the token file named by KAGGLE_API_TOKEN ({token})")
        return CredentialStatus("the KAGGLE_API_TOKEN environment variable")
    for name in ("access_token", "access_token.txt"):
        path = Path.home() / ".kaggle" / name
        if path.is_file() and path.read_text().strip():
            return _file_status(path, f"the access token file {path}")
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    if user and key:
        return CredentialStatus("the KAGGLE_USERNAME and KAGGLE_KEY environment variables")
    warnings = ()
    if user or key:
        warnings = (
            "only one of KAGGLE_USERNAME and KAGGLE_KEY is set; both are needed, so "
            "neither is used",
        )
    config = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle") / "kaggle.json"
    if not config.is_file():
        return CredentialStatus(None, warnings)
    status = _file_status(config, f"kaggle.json at {config}")
    return CredentialStatus(status.source, warnings + status.warnings, _kaggle_json_problem(config))


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:  # e.g. a token too long to be a file name
        return False


def _file_status(path: Path, source: str) -> CredentialStatus:
    mode = path.stat().st_mode & 0o777
    if mode & 0o044:
        return CredentialStatus(
            source,
            (f"{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`",),
        )
    return CredentialStatus(source)


def _kaggle_json_problem(path: Path) -> str | None:
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        content = None
    if isinstance(content, dict) and content.get("username") and content.get("key"):
        return None
    return (
        f"{path} is not a JSON object with `username` and `key`; download a fresh "
        "kaggle.json from https://www.kaggle.com/settings/api, or remove the file"
    )
