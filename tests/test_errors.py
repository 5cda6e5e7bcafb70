"""The error boundary (one table from error type to HTTP status and CLI exit code, read by
the API and the CLI) and the settings read from the environment."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import ssots
from ssots.cli._app import SsotsGroup
from ssots.config import Settings
from ssots.data.sources.kaggle.errors import KaggleAuthError, KaggleError
from ssots.errors import (
    ERROR_CODES,
    ConflictError,
    DataError,
    ErrorCode,
    FieldIssue,
    InvalidFieldsError,
    NotFoundError,
    ParameterError,
    QueueFullError,
    SsotsError,
    TooLargeError,
    error_code,
)
from ssots.store.jobs import JobNotFoundError
from ssots.web import create_app
from web_support import TestClient, make_settings


def all_subclasses(kind: type) -> set[type]:
    found = set(kind.__subclasses__())
    return found.union(*(all_subclasses(sub) for sub in found))


def test_every_error_of_the_code_base_has_a_row() -> None:
    for module in pkgutil.walk_packages(ssots.__path__, "ssots."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    for kind in all_subclasses(SsotsError):
        code = error_code(kind.__new__(kind))
        assert 400 <= code.http < 600, kind
        assert code.exit >= 1, kind


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SsotsError("x"), ErrorCode(400, 2)),
        (ParameterError("x"), ErrorCode(422, 2)),
        (InvalidFieldsError.one("epochs", "x"), ErrorCode(422, 2)),
        (DataError("x"), ErrorCode(422, 2)),
        (TooLargeError("x", limit=1), ErrorCode(413, 2)),
        (NotFoundError("x"), ErrorCode(404, 2)),
        (JobNotFoundError("0123456789abcdef"), ErrorCode(404, 2)),
        (ConflictError("x"), ErrorCode(409, 2)),
        (QueueFullError("x"), ErrorCode(429, 2)),
        (KaggleError("x"), ErrorCode(502, 2)),
        (KaggleAuthError("x"), ErrorCode(502, 2)),
    ],
)
def test_the_most_specific_row_wins(error: SsotsError, code: ErrorCode) -> None:
    assert error_code(error) == code


def test_the_table_holds_only_error_types() -> None:
    assert all(issubclass(kind, SsotsError) for kind in ERROR_CODES)


def test_the_api_answers_each_error_with_its_row(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), workers=0)
    raised: dict[str, SsotsError] = {
        "conflict": ConflictError("busy"),
        "fields": InvalidFieldsError(
            [FieldIssue("epochs", "too many"), FieldIssue("fee", "negative", "greater_than")]
        ),
    }

    @app.get("/raise/{name}")
    def raise_it(name: str) -> None:
        raise raised[name]

    with TestClient(app) as client:
        conflict = client.get("/raise/conflict")
        assert (conflict.status_code, conflict.json()) == (409, {"detail": "busy"})
        fields = client.get("/raise/fields")
        assert fields.status_code == 422
        assert fields.json()["detail"] == [
            {"type": "value_error", "loc": ["body", "epochs"], "msg": "too many"},
            {"type": "greater_than", "loc": ["body", "fee"], "msg": "negative"},
        ]
        missing = client.get("/api/jobs/0123456789abcdef").json()["detail"]
        assert missing == client.get("/api/train?jobId=0123456789abcdef").json()["detail"]
        assert missing == str(JobNotFoundError("0123456789abcdef"))


def test_the_cli_exits_with_the_row_of_the_error() -> None:
    app = typer.Typer(cls=SsotsGroup)

    @app.command()
    def fail(kind: str) -> None:
        raise {"found": NotFoundError, "param": ParameterError}[kind]("what went wrong")

    @app.command()
    def other() -> None:
        """A second command, so that ``fail`` is a subcommand."""

    result = CliRunner().invoke(app, ["fail", "found"])
    assert result.exit_code == error_code(NotFoundError("x")).exit == 2
    assert "what went wrong" in result.output
    assert "Traceback" not in result.output


# -- settings ---------------------------------------------------------------------------


def test_settings_defaults_and_derived_values(tmp_path: Path) -> None:
    settings = Settings.from_env({"SSOTS_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'ssots.db'}"
    assert settings.api_token is None
    assert not settings.requeue_interrupted
    assert settings.max_upload_bytes == 200 * 1024 * 1024
    assert settings.queue_limit == 100
    assert (settings.datasets_dir, settings.runs_dir) == (tmp_path / "datasets", tmp_path / "runs")
    assert Settings.from_env({}).home == Path("~/.ssots").expanduser()


def test_settings_read_the_environment_and_hide_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSOTS_HOME", str(tmp_path))
    monkeypatch.setenv("SSOTS_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("SSOTS_API_TOKEN", "t0ken-for-tests-only-0123456789abcdef")
    monkeypatch.setenv("SSOTS_REQUEUE_INTERRUPTED", "1")
    monkeypatch.setenv("SSOTS_MAX_UPLOAD_MB", "3")
    monkeypatch.setenv("SSOTS_QUEUE_LIMIT", "")  # empty: the default
    settings = Settings.from_env()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "t0ken-for-tests-only-0123456789abcdef"
    assert settings.requeue_interrupted
    assert (settings.max_upload_bytes, settings.queue_limit) == (3 * 1024 * 1024, 100)
    assert "t0ken" not in repr(settings)
    assert "t0ken" not in str(settings)
    # A mapping is read instead of the environment, never merged with it.
    assert Settings.from_env({"SSOTS_HOME": str(tmp_path)}).api_token is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SSOTS_QUEUE_LIMIT", "0"),
        ("SSOTS_QUEUE_LIMIT", "many"),
        ("SSOTS_MAX_UPLOAD_MB", "-5"),
        ("SSOTS_REQUEUE_INTERRUPTED", "perhaps"),
    ],
)
def test_bad_settings_name_the_variable_and_an_example(variable: str, value: str) -> None:
    with pytest.raises(
        ParameterError, match=rf"`{variable}` must be .*, e\.g\. \S+; got '{value}'"
    ):
        Settings.from_env({variable: value})
