"""Settings from the environment: where state lives and how the service behaves.

| variable | meaning | default |
|---|---|---|
| SSOTS_HOME | folder of durable state | ~/.ssots |
| SSOTS_DATABASE_URL | any SQLAlchemy URL | sqlite:///$SSOTS_HOME/ssots.db |
| SSOTS_API_TOKEN | bearer token the API requires | unset |
| SSOTS_REQUEUE_INTERRUPTED | 1: re-queue jobs a dead worker left running | 0 (mark failed) |
| SSOTS_MAX_UPLOAD_MB | largest accepted upload | 200 |
| SSOTS_QUEUE_LIMIT | most queued jobs before the API answers 429 | 100 |
| SSOTS_ALLOWED_HOSTS | more `Host` names the server answers (comma-separated) | none |
| SSOTS_MAX_STREAMS | most open event streams (SSE) in total | 100 |
| SSOTS_MAX_STREAMS_PER_CLIENT | most open event streams per client address | 10 |
| SSOTS_WEBHOOK_KEY | Fernet key encrypting webhook secrets (shared by servers) | home file |
| SSOTS_WEBHOOK_ALLOW_PRIVATE | 1: webhooks may target private and loopback addresses | 0 |
| SSOTS_WEBHOOK_RETRY_SCALE | factor on the webhook retry delays (tests shrink them) | 1 |
| SSOTS_SCHEDULE_MISFIRE_GRACE | seconds after a fire time within which it counts as on time | 60 |
| SSOTS_SCHEDULER | 0: this server runs no scheduler and no webhook sender | 1 |

``Settings`` is a pydantic-settings model: each field reads the variable ``SSOTS_<NAME>``
(an empty variable counts as unset). Build it with ``Settings.from_env()``, which turns
a bad value into a ``ParameterError`` naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ssots.errors import ParameterError

PREFIX = "SSOTS_"
DEFAULT_HOME = Path("~/.ssots")
MIN_TOKEN_LENGTH = 32
"""Shortest accepted API token (``openssl rand -hex 32`` makes one of 64)."""
_EXPECTED = {
    "home": ("a folder", "~/.ssots"),
    "database_url": ("an SQLAlchemy URL", "sqlite:////var/lib/ssots/ssots.db"),
    "api_token": ("a token", "a long random string"),
    "requeue_interrupted": ("1 or 0", "1"),
    "max_upload_mb": ("a whole number >= 1", "200"),
    "queue_limit": ("a whole number >= 1", "100"),
    "allowed_hosts": ("comma-separated host names", "ssots.example.org,192.168.1.10"),
    "max_streams": ("a whole number >= 1", "100"),
    "max_streams_per_client": ("a whole number >= 1", "10"),
    "webhook_key": ("a Fernet key", "the output of `ssots webhooks key`"),
    "webhook_allow_private": ("1 or 0", "1"),
    "webhook_retry_scale": ("a number > 0", "1"),
    "schedule_misfire_grace": ("a whole number >= 1", "60"),
    "scheduler": ("1 or 0", "0"),
}
"""Field -> what its variable must hold and an example, for error messages."""

_MAPPING: ContextVar[Mapping[str, str] | None] = ContextVar("ssots_settings_env", default=None)
"""The mapping ``Settings.from_env`` reads instead of the process environment."""


class MappingSource(PydanticBaseSettingsSource):
    """A settings source reading ``SSOTS_<FIELD>`` from a mapping, as the environment
    source reads the process environment (an empty value counts as unset)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The raw value of ``field_name``'s variable (None when unset)."""
        return self.env.get(variable(field_name)) or None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values = {
            name: self.get_field_value(field, name)[0]
            for name, field in self.settings_cls.model_fields.items()
        }
        return {name: value for name, value in values.items() if value is not None}


class Settings(BaseSettings):
    """Resolved settings. ``api_token`` is a secret: ``repr`` and ``str`` never show it."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    home: Path = DEFAULT_HOME
    """Folder of durable state (``~`` expanded)."""
    database_url: str = ""
    """Any SQLAlchemy URL; unset: the SQLite file ``ssots.db`` in ``home``."""
    api_token: SecretStr | None = None
    """Bearer token the API requires; None: the API is open (loopback only)."""
    requeue_interrupted: bool = False
    """Re-queue (rather than fail) jobs a dead worker left running."""
    max_upload_mb: PositiveInt = 200
    """Largest accepted upload, MB."""
    queue_limit: PositiveInt = 100
    """Most queued jobs before the API answers 429."""
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """``Host`` names the server answers besides its loopback names (DNS rebinding guard)."""
    max_streams: PositiveInt = 100
    """Most event streams open at once; beyond it the API answers 429."""
    max_streams_per_client: PositiveInt = 10
    """Most event streams one client address holds open at once."""
    webhook_key: SecretStr | None = None
    """Key encrypting webhook secrets at rest; None: the key file in ``home``."""
    webhook_allow_private: bool = False
    """Webhooks may target private, loopback and link-local addresses."""
    webhook_retry_scale: PositiveFloat = 1.0
    """Factor on every webhook retry delay (1: the Standard Webhooks schedule)."""
    schedule_misfire_grace: PositiveInt = 60
    """Seconds after a fire time within which firing it counts as on time."""
    scheduler: bool = True
    """Run the scheduler and the webhook sender in this server."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the process environment, or the mapping given to
        ``from_env`` instead of it (no .env file, no secrets folder)."""
        mapping = _MAPPING.get()
        return (init_settings, env_settings if mapping is None else MappingSource(cls, mapping))

    @field_validator("home")
    @classmethod
    def _expand_home(cls, home: Path) -> Path:
        return home.expanduser()

    @field_validator("api_token")
    @classmethod
    def _check_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None:
            return None
        value = token.get_secret_value()
        if value != value.strip():
            raise ValueError(
                "has leading or trailing whitespace (a copied newline?), which no client "
                "would send: remove it"
            )
        if len(value) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"is {len(value)} characters long; use at least {MIN_TOKEN_LENGTH}, "
                "e.g. the output of `openssl rand -hex 32`"
            )
        return token

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, hosts: Any) -> Any:
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        if isinstance(hosts, list | tuple):
            hosts = tuple(host.strip().lower() for host in hosts if host.strip())
        return hosts

    @model_validator(mode="before")
    @classmethod
    def _derive_database_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("database_url"):
            home = Path(data.get("home") or DEFAULT_HOME).expanduser()
            data = {**data, "database_url": f"sqlite:///{home / 'ssots.db'}"}
        return data

    @property
    def max_upload_bytes(self) -> int:
        """Largest accepted upload, bytes."""
        return self.max_upload_mb * 1024 * 1024

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

        A mapping is read exactly like the environment (``SSOTS_<FIELD>``, empty means
        unset) and nothing else: the process environment does not leak in.

        Raises:
            ParameterError: a variable has a bad value (e.g. a count that is not a
                positive whole number); the message names the variable.
        """
        reading = _MAPPING.set(env)
        try:
            return cls()
        except ValidationError as exc:
            raise _parameter_error(exc) from None
        finally:
            _MAPPING.reset(reading)


def variable(field: str) -> str:
    """The environment variable of the settings field ``field``."""
    return f"{PREFIX}{field.upper()}"


def _parameter_error(exc: ValidationError) -> ParameterError:
    error: dict[str, Any] = exc.errors(include_url=False)[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    if field in ("api_token", "webhook_key"):  # a secret: its message never shows the value
        reason = error["ctx"]["error"] if error["type"] == "value_error" else "must be text"
        return ParameterError(f"`{variable(field)}` {reason}")
    rule, example = _EXPECTED.get(field, ("valid", ""))
    given = error.get("input")
    return ParameterError(
        f"`{variable(field)}` must be {rule}, e.g. {example}; got {given!r}"
        if isinstance(given, str)
        else f"`{variable(field)}` must be {rule}, e.g. {example}"
    )
