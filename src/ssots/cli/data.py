"""``ssots data ...``: demo data, dataset inspection, the Kaggle catalog, search, fetch and
credentials check, and the registry of datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ssots.cli._app import SsotsGroup, app, console, err_console

data_app = typer.Typer(
    cls=SsotsGroup,
    help="Datasets: demo data, inspection, the Kaggle catalog, search and fetch, the registry.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("demo")
def data_demo_command(
    days: Annotated[int, typer.Option(min=1, help="Calendar days of data.")] = 1095,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 42,
    freq: Annotated[str, typer.Option(help="Bar spacing: 1d, 1h or 1m.")] = "1d",
    output: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("demo.csv"),
) -> None:
    """Write deterministic synthetic OHLCV (regime-switching GBM) to a CSV file."""
    from ssots.data import demo

    frame = demo(days=days, seed=seed, freq=freq)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output)
    console.print(f"Wrote {len(frame)} {freq} bars to [bold]{output}[/bold]")


@data_app.command("inspect")
def data_inspect_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of prices.")],
) -> None:
    """Show how a file is read: detected layout, span, bar spacing, rows and repairs, and
    what the data checks found: gaps, price outliers and zero-volume runs."""
    from ssots.data import load

    _, report = load(file)
    table = Table(title=str(file), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in report.summary_lines():
        table.add_row(label, escape(value), style="yellow" if label in _FINDINGS else None)
    console.print(table)
    if report.quality.blocks_training:
        gap = report.quality.longest_gap
        assert gap is not None  # blocks_training means there is a long gap
        err_console.print(
            f"[bold yellow]warning:[/bold yellow] the longest gap, {escape(gap.describe())}, "
            "is too long to train across: `ssots train` refuses this file unless "
            "--allow-gaps is set"
        )


_FINDINGS = ("gap", "outlier")
"""Report rows ``ssots data inspect`` highlights: each is a problem in the data."""


@data_app.command("list")
def data_list_command() -> None:
    """Show the curated catalog of Kaggle crypto datasets and what their files hold."""
    from ssots.data.sources.catalog import CATALOG

    console.print(
        "[bold]Curated Kaggle datasets[/bold] (fetch one with `ssots data fetch "
        "HANDLE`; `ssots data search` finds others)\n"
    )
    for entry in CATALOG:
        kind = "[yellow]sentiment, not OHLCV[/yellow]" if entry.kind == "sentiment" else "OHLCV"
        console.print(f"[bold]{entry.handle}[/bold]  ({kind})")
        console.print(f"  {entry.title}: {entry.description}")
        console.print(f"  files: {entry.files}\n")


@data_app.command("search")
def data_search_command(
    query: Annotated[list[str], typer.Argument(help="Words to search for, e.g. bitcoin ohlcv.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="Most results to show.")] = 20,
) -> None:
    """Search Kaggle datasets live (Kaggle's official client)."""
    from ssots.data.sources.kaggle import search

    hits = search(" ".join(query), limit=limit)
    if not hits:
        console.print("No Kaggle datasets match; try fewer or other words.")
        return
    console.print(f"[bold]Kaggle datasets matching {' '.join(query)!r}[/bold]\n")
    for hit in hits:
        updated = f" · updated {hit.updated.date()}" if hit.updated else ""
        console.print(f"[bold]{escape(hit.handle)}[/bold]  ({hit.votes} votes)")
        console.print(
            f"    {escape(hit.title)} · {_size(hit.size_bytes)}{updated}", highlight=False
        )
    console.print("Fetch one with `ssots data fetch HANDLE`.")


@data_app.command("fetch")
def data_fetch_command(
    handle: Annotated[str, typer.Argument(help="Kaggle dataset handle owner/slug (or its URL).")],
    file: Annotated[
        str | None, typer.Option(help="The file to use, as listed (e.g. coin_Bitcoin.csv).")
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            help="Coin ticker: picks the file named for it (BTC -> coin_Bitcoin.csv, "
            "BTCUSDT, BTC-USD) or its rows in a multi-coin table."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even if Kaggle's cache has it.")
    ] = False,
) -> None:
    """Download a Kaggle dataset, pick its OHLCV file, load it and register it."""
    from ssots.config import Settings
    from ssots.services.datasets import fetch

    err_console.print(f"Fetching [bold]{escape(handle)}[/bold] from Kaggle ...")
    result = fetch(handle, Settings.from_env(), file=file, symbol=symbol, force=force)
    console.print(f"{len(result.files)} file(s) in {escape(str(result.directory))}:")
    for name in result.files[:30]:
        size = _size((result.directory / name).stat().st_size)
        console.print(f"  {escape(name)}  ({size})", highlight=False)
    if len(result.files) > 30:
        console.print(f"  ... and {len(result.files) - 30} more")
    if result.record is None:
        console.print(f"[yellow]{escape(result.note or '')}[/yellow]")
        return
    record = result.record
    console.print(
        f"Registered [bold]{escape(record.name)}[/bold] (id {record.id}): {record.rows:,} rows, "
        f"{record.start.date()} .. {record.end.date()}, {record.spacing} bars"
    )
    console.print(f"Train on it: ssots train --dataset {escape(record.name)}")


@data_app.command("ls")
def data_ls_command() -> None:
    """List registered datasets: source, rows, span and bar spacing."""
    from ssots.config import Settings
    from ssots.store.datasets import DatasetRegistry

    records = DatasetRegistry(Settings.from_env()).list()
    if not records:
        console.print("No datasets registered yet; add one with `ssots data fetch HANDLE`.")
        return
    console.print("[bold]Registered datasets[/bold] (pass the name or id as --dataset)\n")
    for record in records:
        console.print(f"{record.id}  [bold]{escape(record.name)}[/bold]")
        console.print(
            f"    {record.source} · {record.rows:,} rows · {record.start.date()} .. "
            f"{record.end.date()} · {record.spacing} bars · added "
            f"{record.added_at:%Y-%m-%d %H:%M}",
            highlight=False,
        )


@data_app.command("auth-check")
def data_auth_check_command() -> None:
    """Say which Kaggle credentials are in use and whether Kaggle accepts them.

    The secret itself is never shown.
    """
    from ssots.data.sources.kaggle import HOW_TO_SET_CREDENTIALS, KaggleAuthError, check_credentials

    check = check_credentials()
    for warning in check.status.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if check.status.source is None:
        console.print(
            f"No Kaggle credentials found; public datasets may still download. "
            f"{HOW_TO_SET_CREDENTIALS}."
        )
        return
    console.print(f"Credentials: {escape(check.status.source)}")
    if check.accepted:
        console.print(f"[green]Kaggle accepts them[/green] (user {escape(str(check.user))}).")
        return
    reason = check.status.problem or "Kaggle rejected them (wrong, expired or revoked)"
    raise KaggleAuthError(f"{reason}. {HOW_TO_SET_CREDENTIALS}")


def dataset_for_training(dataset: str, *, demo_fallback: bool) -> str:
    """Fetch a ``kaggle:`` dataset before training starts (its download shows before the
    training progress); with ``demo_fallback``, missing or rejected credentials switch to
    synthetic demo data, announced loudly. Other names are returned unchanged."""
    from ssots.data.sources.kaggle import KAGGLE, KaggleAuthError
    from ssots.data.sources.reference import DEMO

    if not dataset.startswith(KAGGLE):
        return dataset
    from ssots.config import Settings
    from ssots.services.datasets import ensure_dataset

    try:
        ensure_dataset(dataset, Settings.from_env())
    except KaggleAuthError as exc:
        if not demo_fallback:
            raise
        err_console.print(
            Panel(
                f"{escape(str(exc))}\n\n[bold]--demo-fallback: training on SYNTHETIC demo "
                f"prices instead of {escape(dataset)}. The model learns nothing about real "
                "markets.[/bold]",
                title="SYNTHETIC DATA",
                border_style="bold red",
            )
        )
        return DEMO
    return dataset


def _size(size: float | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
