"""One source of truth: the CLI, the API schema, the dashboard form and the docs take every
run default, range and choice from ``ssots.spec``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

import ssots
from ssots.cli import app
from ssots.spec import FIELDS, RunSpec, field_schema, settings_table, vocabulary
from ssots.web import create_app
from ssots.web.schemas import TrainRequest
from web_support import TestClient, make_settings

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app without workers: pages and schemas only."""
    with TestClient(create_app(make_settings(tmp_path_factory.mktemp("spec")), workers=0)) as app:
        yield app


def _cli_defaults() -> dict[str, object]:
    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    return {param.name: param.default for param in command.params}


def test_cli_api_and_form_defaults_are_the_specs_field_by_field(client: TestClient) -> None:
    cli = _cli_defaults()
    api = TrainRequest.model_json_schema(by_alias=True)["properties"]
    page = client.get("/training").text
    for name, info in FIELDS.items():
        default = field_schema(name)["default"]
        assert cli[name] == default, name
        if name != "dataset":  # the API's dataset field keeps the earlier contract
            assert api[info.api].get("default") == RunSpec.model_fields[name].default or (
                name == "split" and api[info.api]["default"] == list(RunSpec().split)
            ), name
            control = re.search(rf'<(input|select)[^>]*name="{info.api}"[^>]*>', page)
            assert control is not None, f"the form has no field {info.api}"
            if 'type="checkbox"' in control[0]:
                assert (" checked" in control[0]) == default, name
            elif control[1] == "input" and default is not None:
                assert f'value="{default}"' in control[0], name
    assert vocabulary()["fields"][0]["name"] == "dataset"


def test_the_form_offers_the_specs_bounds(client: TestClient) -> None:
    page = client.get("/training").text
    epochs = re.search(r'<input[^>]*name="epochs"[^>]*>', page)[0]  # type: ignore[index]
    assert 'min="1"' in epochs
    assert 'max="100000"' in epochs
    assert 'value="500"' in epochs


def test_api_spec_serves_the_vocabulary(client: TestClient) -> None:
    answer = client.get("/api/spec")
    assert answer.status_code == 200
    assert answer.json() == vocabulary()


def test_docs_carry_the_settings_table_verbatim() -> None:
    assert settings_table() in (ROOT / "docs" / "model.md").read_text()


def test_an_existing_weights_file_needs_force(tmp_path: Path) -> None:
    target = tmp_path / "weights.json"
    target.write_text("{}")
    result = runner.invoke(app, ["train", "--epochs", "5", "--output", str(target)])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert target.read_text() == "{}"


def test_output_into_a_missing_folder_says_it_creates_it(tmp_path: Path) -> None:
    target = tmp_path / "new" / "w.json"
    args = ["train", "--epochs", "5", "--demo-days", "200", "--output", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Creating folder {target.parent}" in " ".join(result.output.split())
    assert target.is_file()


@pytest.mark.parametrize("flag", ["--force", "--json", "--demo-fallback", "--allow-gaps"])
def test_flags_show_no_type_label(flag: str) -> None:
    help_text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "120"}).output
    line = next(line for line in help_text.splitlines() if flag in line)
    assert "<bool>" not in line


def test_version_is_printed() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ssots {ssots.__version__}"


def test_help_shows_no_type_label_on_any_flag() -> None:
    for command in ([], ["train"], ["serve"], ["data", "fetch"]):
        help_text = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}).output
        assert "<bool>" not in help_text, command
        assert max(len(line) for line in help_text.splitlines()) <= 80, command


def test_a_boolean_setting_is_a_cli_flag_a_checkbox_and_a_json_boolean(
    client: TestClient,
) -> None:
    assert field_schema("allow_gaps")["type"] == "boolean"
    page = client.get("/training").text
    assert re.search(r'<input[^>]*name="allowGaps"[^>]*type="checkbox"', page)
    assert TrainRequest.model_json_schema(by_alias=True)["properties"]["allowGaps"]["type"] == (
        "boolean"
    )
    help_text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "120"}).output
    assert "--no-allow-gaps" not in help_text
