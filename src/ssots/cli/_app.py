"""The Typer app, its consoles, and how errors are shown: an ``SsotsError`` as one message
and the exit code of its row in ``ssots.errors.ERROR_CODES`` (2 for a user's mistake)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ssots.errors import SsotsError, error_code

console = Console()
err_console = Console(stderr=True)


HELP_ORDER: tuple[str, ...] = (
    "train", "score", "backtest", "export", "runs", "models", "tune", "studies", "schedules",
    "webhooks", "serve", "data",
)
"""How ``ssots --help`` lists the top-level commands."""
_help_rank = {name: rank for rank, name in enumerate(HELP_ORDER)}


class SsotsGroup(TyperGroup):
    """A command group that shows an SsotsError as one message and exits with the code the
    error table gives it."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Commands in ``HELP_ORDER`` first (the order a user needs them), then the rest."""
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: _help_rank.get(name, len(HELP_ORDER)))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SsotsError as exc:
            err_console.print(
                f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=error_code(exc).exit) from None


app = typer.Typer(
    cls=SsotsGroup,
    help="SSO-TS: train interpretable Q-score models for crypto strategies on real price history.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain help: no "<bool>" beside flags, no markup in help texts
)


def _print_version(value: bool) -> None:
    if value:
        from ssots import __version__

        console.print(f"ssots {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            metavar="",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """SSO-TS: train interpretable Q-score models for crypto strategies on real price history."""
