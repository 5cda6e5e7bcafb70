"""``ssots models``: the model registry: register versions from runs or weights files,
move aliases (with history and rollback), resolve, delete, export, import and diff."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from ssots.cli._app import app, console

if TYPE_CHECKING:
    from ssots.store.registry import ModelRegistry, VersionRecord

models_app = typer.Typer(
    help="The model registry: versions, aliases (champion, ...), export and import.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")


def _registry() -> ModelRegistry:
    from ssots.config import Settings
    from ssots.services.models import registry

    return registry(Settings.from_env())


def who() -> str:
    """Who moves an alias from this command line: the login name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no login name
        return "cli"


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


@models_app.command("register")
def register_command(
    name: Annotated[str, typer.Argument(help="The model's name (created if new).")],
    run: Annotated[str | None, typer.Option(help="Id or name of a tracked run.")] = None,
    weights: Annotated[Path | None, typer.Option(help="A weights file instead of a run.")] = None,
    description: Annotated[str, typer.Option(help="Description of a new model.")] = "",
) -> None:
    """Register a run (or a weights file) as a new version; the same parameters on the same
    data return the existing version.

    Example: ssots models register btc-daily --run brisk-otter-042
    """
    from ssots.errors import MissingParameterError, ParameterError
    from ssots.services.models import register_run, register_weights_file

    if (run is None) == (weights is None):
        if run is None:
            raise MissingParameterError("pass --run RUN_ID or --weights FILE")
        raise ParameterError("pass --run or --weights, not both")
    models = _registry()
    if run is not None:
        from ssots.store.runs import RunStore

        record = RunStore(models.database).get(run)
        found, created = register_run(models, name, record, description=description)
    else:
        assert weights is not None
        found, created = register_weights_file(models, name, weights, description=description)
    print_registered(found, created)


def print_registered(version: VersionRecord, created: bool) -> None:
    """Say which version a registering gave: new, or the existing one with the same
    content (``ssots models register``, ``ssots studies register``)."""
    verb = "registered" if created else "already registered (same parameters and data) as"
    console.print(f"{verb} [bold]models:/{version.model}/{version.version}[/bold]")


@models_app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered models with their aliases."""
    models = _registry().list_models()
    if json_output:
        console.print_json(json.dumps({"models": [m.to_dict() for m in models]}))
        return
    table = Table(title="Registered models")
    for column in ("name", "versions", "latest", "aliases", "description"):
        table.add_column(column)
    for model in models:
        table.add_row(
            model.name,
            str(model.versions),
            str(model.latest_version or "—"),
            " ".join(f"@{a}={v}" for a, v in model.aliases.items()),
            model.description,
        )
    console.print(table)


@models_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a model: its versions (metrics, run, data) and aliases."""
    models = _registry()
    model = models.get_model(name)
    versions = models.versions(name)
    if json_output:
        console.print_json(
            json.dumps({**model.to_dict(), "version_list": [v.summary() for v in versions]})
        )
        return
    console.print(f"[bold]{model.name}[/bold] {model.description}")
    table = Table(title="Versions")
    for column in ("version", "created", "run", "data", "r2", "rank_ic", "aliases"):
        table.add_column(column)
    for version in versions:
        table.add_row(
            str(version.version),
            version.created_at.strftime("%Y-%m-%d %H:%M"),
            str(version.lineage.get("run_name") or version.lineage.get("file") or "—"),
            version.fingerprint[:12],
            _number(version.metrics.get("r2")),
            _number(version.metrics.get("rank_ic")),
            " ".join(f"@{a}" for a in version.aliases),
        )
    console.print(table)


@models_app.command("alias")
def alias_command(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. champion.")],
    version: Annotated[int, typer.Argument(min=1, help="The version it points to.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the alias history).")] = "",
) -> None:
    """Point an alias at a version (recorded in the alias history).

    Example: ssots models alias btc-daily champion 3 --reason "best rank IC"
    """
    event = _registry().move_alias(name, alias, version, who=who(), reason=reason)
    before = "nothing" if event.from_version is None else f"version {event.from_version}"
    console.print(f"@{alias} of {name}: {before} -> version {event.to_version}")


@models_app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    alias: Annotated[str, typer.Argument(help="The alias to move back one step.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the alias history).")] = "",
) -> None:
    """Move an alias back to the version it pointed to before its last move."""
    event = _registry().rollback(name, alias, who=who(), reason=reason)
    console.print(
        f"@{alias} of {name} rolled back: version {event.from_version} -> "
        f"version {event.to_version}"
    )


@models_app.command("history")
def history_command(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    alias: Annotated[str | None, typer.Argument(help="One alias (default: all).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every move of an alias: when, who, from, to and why."""
    events = _registry().history(name, alias)
    if json_output:
        console.print_json(json.dumps({"history": [e.to_dict() for e in events]}))
        return
    table = Table(title=f"Alias history of {name}" + (f" @{alias}" if alias else ""))
    for column in ("#", "at", "alias", "kind", "from", "to", "who", "reason"):
        table.add_column(column)
    for event in events:
        table.add_row(
            str(event.seq),
            event.created_at.isoformat(timespec="seconds"),
            f"@{event.alias}",
            event.kind,
            "—" if event.from_version is None else str(event.from_version),
            str(event.to_version),
            event.who,
            event.reason,
        )
    console.print(table)


@models_app.command("resolve")
def resolve_command(
    uri: Annotated[
        str, typer.Argument(help="models:/NAME/3, models:/NAME@ALIAS or ...@ALIAS?at=ISO.")
    ],
) -> None:
    """Which version a models:/ reference names (now or at ?at=)."""
    from ssots.services.models import resolve_version

    found = resolve_version(_registry(), uri)
    console.print(f"{uri} -> models:/{found.model}/{found.version}")


@models_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    version: Annotated[int, typer.Argument(min=1, help="The version to delete.")],
) -> None:
    """Delete a version (refused while an alias points to it)."""
    _registry().delete_version(name, version)
    console.print(f"deleted models:/{name}/{version}")


@models_app.command("export")
def export_command(
    reference: Annotated[str, typer.Argument(help="NAME/VERSION, NAME@ALIAS or a models:/ URI.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
) -> None:
    """Write a version (weights document and lineage) as one file, to import elsewhere.

    Example: ssots models export btc-daily/3 -o m.json
    """
    from ssots.services.models import export_version

    found = export_version(_registry(), reference, output)
    console.print(f"exported models:/{found.model}/{found.version} to [bold]{output}[/bold]")


@models_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A file written by `ssots models export`.")],
    name: Annotated[str | None, typer.Option(help="Register under this model name.")] = None,
) -> None:
    """Register an exported version (identical content returns the existing version)."""
    from ssots.services.models import import_version

    found, created = import_version(_registry(), file, name=name)
    verb = "imported as" if created else "already registered as"
    console.print(f"{verb} [bold]models:/{found.model}/{found.version}[/bold]")


@models_app.command("diff")
def diff_command(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    versions: Annotated[list[int], typer.Argument(help="Two or more version numbers.")],
    all_fields: Annotated[
        bool, typer.Option("--all", help="List every setting, not only those that differ.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare versions of a model: what changed in settings, metrics and parameters.

    Example: ssots models diff btc-daily 1 2
    """
    from ssots.cli.runs import print_comparison
    from ssots.services.compare import comparable_version, compare

    models = _registry()
    items = [comparable_version(models.version(name, v)) for v in versions]
    print_comparison(compare(items, all_fields=all_fields), json_output=json_output)
