"""``ssots backtest`` and the backtest / walk-forward tables ``ssots train`` prints."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from ssots.cli._app import app, console, err_console
from ssots.errors import ParameterError
from ssots.spec import DEFAULT_FEE_BP, DEFAULT_RUIN_FLOOR

BOOK_TITLES = {"strategy": "strategy", "q_filtered": "Q-filtered", "buy_and_hold": "buy & hold"}
_PERCENT_METRICS = ("total_return", "cagr", "max_drawdown", "win_rate", "exposure")


@app.command("backtest")
def backtest_command(
    weights: Annotated[
        str,
        typer.Option(help="Weights file written by `ssots train`, or models:/NAME/3, "
                     "models:/NAME@champion."),
    ],
    dataset: Annotated[str, typer.Option(help="`demo` or a CSV/Parquet file to trade.")],
    threshold: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="Q-filter threshold (default: the trained model's)."),
    ] = None,
    fee: Annotated[
        float, typer.Option("--fee", min=0, help="Fee per unit of position change, basis points.")
    ] = DEFAULT_FEE_BP,
    slippage: Annotated[
        float, typer.Option(min=0, help="Slippage per unit of position change, basis points.")
    ] = 0.0,
    ruin_floor: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            help="A book whose equity falls to this fraction of its start (0 <= f < 1) is "
            "ruined and stops trading.",
        ),
    ] = DEFAULT_RUIN_FLOOR,
    all_rows: Annotated[
        bool,
        typer.Option(
            "--all-rows",
            help="Trade every bar, the model's training rows too (in-sample: flatters it).",
        ),
    ] = False,
    trades: Annotated[
        Path | None,
        typer.Option(
            "--trades",
            help="Also write the trade list as CSV to this file: every call of the strategy "
            "with entry and exit, side, return, bars held, and whether the Q-filter took it.",
        ),
    ] = None,
) -> None:
    """Backtest a saved model on any dataset: the strategy, the strategy filtered by the
    Q-score and buy and hold, scored with the stored normaliser (nothing is refitted).

    By default only bars from the model's validation block on (by the split dates in the
    weights file) are traded; `--all-rows` trades the training rows too. `--trades FILE`
    writes the trade list (the columns of GET /api/jobs/{id}/trades?format=csv).

    Example: ssots backtest --weights weights.json --dataset prices.csv --trades trades.csv
    """
    from ssots.config import Settings
    from ssots.services.datasets import resolve
    from ssots.services.models import resolve_weights

    if trades is not None:
        check_target(trades, "the trade list")  # before the work, not after it
    settings = Settings.from_env()
    saved = resolve_weights(weights, settings)
    frame = resolve(dataset, settings).frame
    scored = saved.score(frame).index
    if saved.split_dates() is not None:
        console.print(split_rows_text(saved.split_dates(), saved.blocks_of(scored), all_rows))
    result = saved.backtest(
        frame, threshold, fee_bp=fee, slippage_bp=slippage, all_rows=all_rows,
        ruin_floor=ruin_floor,
    )
    if all_rows:
        err_console.print(all_rows_warning(saved, scored))
    console.print(backtest_table(result.to_dict(max_points=None), saved.strategy))
    if trades is not None:
        from ssots.trades import trade_list

        listed = trade_list(result)
        write_text(trades, listed.to_csv(), "the trade list")
        counts = listed.counts()
        ruined = f", {counts['ruined']:,} after its book's ruin" if counts["ruined"] else ""
        console.print(
            f"Trade list: {len(listed):,} trades of {counts['calls']:,} calls "
            f"({counts['taken']:,} taken by the Q-filter, {counts['skipped']:,} skipped{ruined}) "
            f"written to {trades}"
        )


def check_target(path: Path, what: str) -> None:
    """Refuse a path that can never be written as a file: a folder, or one under a file.

    Raises:
        ParameterError: saying which.
    """
    try:
        if path.is_dir():
            raise ParameterError(
                f"cannot write {what} to {path}: it is a directory; pass a file name"
            )
        folder = next((parent for parent in path.parents if parent.exists()), None)
    except OSError as exc:
        raise _unwritable(path, what, exc) from None
    if folder is not None and not folder.is_dir():
        raise ParameterError(f"cannot write {what} to {path}: {folder} is a file, not a folder")


def _unwritable(path: Path, what: str, exc: OSError) -> ParameterError:
    reason = (exc.strerror or type(exc).__name__).lower()
    return ParameterError(
        f"cannot write {what} to {path}: {reason}; pass a path in a writable folder"
    )


def write_text(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` atomically (a scratch file beside it, then a rename), so a
    failure leaves the old file or none.

    Raises:
        ParameterError: the path is a directory or cannot be written (says why).
    """
    check_target(path, what)
    temp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temp_name, path)
    except OSError as exc:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
        raise _unwritable(path, what, exc) from None


BLOCK_TITLES = {
    "before": "before training",
    "train": "training",
    "validation": "validation",
    "test": "test",
    "after": "after the test block",
}
"""How ``ssots backtest`` names the parts of a model's split (``SavedModel.blocks_of``)."""


def split_rows_text(
    dates: dict[str, tuple[Any, Any]], blocks: Any, all_rows: bool
) -> str:
    """Which scored rows fall in the model's training, validation and test blocks."""
    counts = blocks.value_counts()
    spans = ", ".join(
        f"{name} {_when(start.isoformat())} .. {_when(end.isoformat())}"
        for name, (start, end) in dates.items()
    )
    parts = []
    for block, title in BLOCK_TITLES.items():
        rows = int(counts.get(block, 0))
        note = ""
        if rows and block in ("before", "train"):
            note = " [yellow](traded: --all-rows)[/yellow]" if all_rows else " (not traded)"
        elif rows and block == "validation":
            note = " (used for early stopping)"
        parts.append(f"{title} {rows:,}{note}")
    return f"Split of the model (by date): {spans}\nScored rows: " + "; ".join(parts)


def all_rows_warning(saved: Any, scored: Any) -> str:
    """The warning ``--all-rows`` prints: how many traded bars the model was trained on."""
    if saved.split_dates() is None:
        return (
            "[bold yellow]warning:[/bold yellow] --all-rows: this weights file does not record "
            "its split dates, so the traded bars may include the model's training rows; "
            "in-sample books flatter the model"
        )
    blocks = saved.blocks_of(scored)
    seen = int((blocks == "train").sum())
    return (
        f"[bold yellow]warning:[/bold yellow] --all-rows: {seen:,} of the {len(scored):,} "
        "traded bars are the model's training rows (in-sample); their books flatter the model"
    )


def backtest_table(document: dict[str, Any], strategy: str) -> Table:
    """The metrics of the three books of a backtest document (``BacktestResult.to_dict``),
    with a row saying which book was ruined and when."""
    from ssots.backtest import MIN_CAGR_DAYS

    table = Table(
        title=f"Backtest of {strategy}, {_when(document['start'])} .. {_when(document['end'])} "
        f"({document['bars']} bars; Q >= {document['threshold']:.4f}; fee "
        f"{document['fee_bp']:g} bp, slippage {document['slippage_bp']:g} bp)"
    )
    table.add_column("metric")
    for name in document["metrics"]:
        table.add_column(BOOK_TITLES[name], justify="right")
    for metric in next(iter(document["metrics"].values())):
        cells = (_cell(metric, book[metric]) for book in document["metrics"].values())
        table.add_row(metric.replace("_", " "), *cells)
    ruined = document.get("ruined", {})
    table.add_row(
        "ruined",
        *(_ruin_cell(ruined.get(name)) for name in document["metrics"]),
    )
    notes = []
    if any(ruined.values()):
        floor = document.get("ruin_floor", 0.0)
        notes.append(
            f"RUINED: equity fell to {floor:.0%} of its start; the book traded no more from "
            "that bar (row 'ruined', bar number within the traded bars)."
        )
    if next(iter(document["metrics"].values()))["cagr"] is None:
        notes.append(f"CAGR: not annualised over a span under {MIN_CAGR_DAYS} days.")
    table.caption = " ".join(notes) or None
    return table


def _ruin_cell(ruin: dict[str, Any] | None) -> str:
    if ruin is None:
        return "no"
    return f"[bold red]{_when(ruin['time'])}[/bold red] (bar {ruin['bar']})"


WALK_FORWARD_COLUMNS: tuple[str, ...] = (
    "fold",
    "test block",
    "R²",
    "rank IC",
    "Sharpe\nstrat.",
    "Sharpe\nQ-filt",
    "Sharpe\nhold",
    "trades\nstrat.",
    "trades\nQ-filt",
)
"""Header of the walk-forward table: two-line headers keep it within 80 columns."""


def walk_forward_table(report: dict[str, Any]) -> Table:
    """One row per walk-forward fold and an aggregate row (``pipeline.walk_forward``)."""
    table = Table(
        title="Walk-forward: expanding window, each fold tested on the next block",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in WALK_FORWARD_COLUMNS:
        justify = "left" if column == "test block" else "right"
        table.add_column(column, justify=justify, no_wrap=True)
    for fold in report["folds"]:
        tested = fold["backtest"]
        books = tested["metrics"]
        table.add_row(
            str(fold["fold"]),
            f"{_when(tested['start'])}\n{_when(tested['end'])}",
            *_regression_cells(fold["metrics"]),
            *(_cell("sharpe", books[name]["sharpe"]) for name in BOOK_TITLES),
            str(books["strategy"]["trades"]),
            str(books["q_filtered"]["trades"]),
        )
    aggregate = report["aggregate"]
    table.add_section()
    table.add_row(
        "all",
        "pooled",
        *_regression_cells(aggregate["metrics"]),
        *(_cell("sharpe", aggregate["mean_sharpe"][name]) for name in BOOK_TITLES),
        str(aggregate["trades"]["strategy"]),
        str(aggregate["trades"]["q_filtered"]),
    )
    table.caption = (
        f"Row 'all': R² and rank IC of all test rows pooled, Sharpe averaged over folds, "
        f"trades summed. The Q-filter's Sharpe beats the strategy's in "
        f"{aggregate['q_filter_beats_strategy']} of {len(report['folds'])} folds."
    )
    return table


def _when(iso: str) -> str:
    """``2024-01-31`` for a midnight bar, else ``2024-01-31 13:00``."""
    moment = iso[:16].replace("T", " ")
    return moment.removesuffix(" 00:00")


def _regression_cells(metrics: dict[str, float]) -> tuple[str, str]:
    return f"{metrics['r2']:.3f}", f"{metrics['rank_ic']:.3f}"


def _cell(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric == "trades":
        return str(value)
    if metric in _PERCENT_METRICS:
        return f"{value:.1%}"
    return f"{value:.2f}"
