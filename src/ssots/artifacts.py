"""The weights file (``"schema": "ssots.weights/2"``): a trained model with everything
needed to use it on new data (normaliser, calibration map, strategy, label settings) and
to judge it (metrics, baselines, loss history, data provenance, the test-split backtest
with equity curves and, when asked for, the walk-forward folds).

Schema 2 added ``calibration`` (MODEL.md section 5b), and later the optional ``evidence``
section (``ssots.evidence.run_evidence``: intervals, tests against no skill, the verdict);
a schema 2 file without it still loads, and readers show "no evidence recorded". Files of
schema 1 still load: they have no map, so their calibrated Q is the raw Q (the identity)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssots import features, strategies
from ssots.backtest import BacktestResult, backtest
from ssots.errors import DataError, ParameterError
from ssots.model import Calibration, QScoreModel
from ssots.pipeline import RunResult, train_config
from ssots.spec import DEFAULT_FEE_BP, DEFAULT_RUIN_FLOOR, check_strategy

SCHEMA = "ssots.weights/2"
"""The schema ``weights_document`` writes."""
SCHEMA_V1 = "ssots.weights/1"
"""The first schema (no calibration map); ``read_weights`` still reads it."""
READABLE_SCHEMAS: tuple[str, ...] = (SCHEMA, SCHEMA_V1)
LEGACY_KEYS: tuple[str, ...] = ("w_G", "w_C", "w_S", "w_A", "w_H", "w_V", "w_P", "w_T")
"""The earlier system's names of the eight dimension weights, in dimension order."""
EXTRA_PARAMS: tuple[str, ...] = ("alpha", "beta", "gamma", "delta_min", "delta_max")
SPLIT_BLOCKS: tuple[str, ...] = ("train", "validation", "test")
"""The blocks whose first and last bar times ``training.split_dates`` records."""


def weights_document(result: RunResult) -> dict[str, Any]:
    """The weights file's content for a finished run."""
    spec = result.spec
    return {
        "schema": SCHEMA,
        "created_at": result.created_at,
        "dimensions": list(features.DIMENSIONS),
        "parameters": result.weights(),
        "normalizer": result.normalizer.to_dict(),
        "calibration": result.calibration.to_dict(),
        "strategy": spec.strategy,
        "labels": spec.labels,
        "horizon": spec.horizon,
        "training": {
            **asdict(train_config(spec)),
            "split": list(spec.split),
            "split_sizes": result.split_sizes,
            "split_dates": result.split_dates,
            "best_epoch": result.best_epoch,
            "stopped_early": result.stopped_early,
        },
        "metrics": result.metrics,
        "baselines": result.baselines,
        "history": result.history,
        "data": result.dataset,
        "backtest": result.backtest.to_dict(),
        "walk_forward": result.walk_forward,
        "evidence": result.evidence,
    }


def write_json(path: str | Path, document: dict[str, Any]) -> Path:
    """Write ``document`` atomically: a crash leaves the old file or none, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, allow_nan=False)
            out.write("\n")
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def legacy_omega(document: dict[str, Any]) -> dict[str, float]:
    """The earlier system's layout: w_G .. w_T in dimension order, then the five extras."""
    parameters = document["parameters"]
    dimension_weights = [parameters[f"w_{name}"] for name in document["dimensions"]]
    legacy = dict(zip(LEGACY_KEYS, dimension_weights, strict=True))
    legacy.update({name: parameters[name] for name in EXTRA_PARAMS})
    return legacy


@dataclass(frozen=True)
class SavedModel:
    """A weights file read back: the model, its stored normaliser, calibration map and
    settings (the identity map for a schema 1 file)."""

    model: QScoreModel
    normalizer: features.Normalizer
    strategy: str
    document: dict[str, Any]
    calibration: Calibration = field(default_factory=Calibration.identity)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Q-scores for every bar of ``frame`` past the indicator warm-up, with the stored
        normaliser and calibration map (nothing is refitted).

        Returns:
            DataFrame indexed by time with columns close, direction (+1 long / -1 short),
            q (the calibrated Q: the expected label) and q_raw (the model's raw Q, which
            the Q-filter thresholds).
        """
        seen = strategies.signals(self.strategy, frame)
        rows = slice(features.WARMUP_BARS, None)
        x = self.normalizer.transform(seen.raw_dimensions.to_numpy()[rows])
        raw = self.model.predict(x)
        return pd.DataFrame(
            {
                "close": frame["close"].to_numpy()[rows],
                "direction": seen.direction[rows].astype(np.int8),
                "q": self.calibration(raw),
                "q_raw": raw,
            },
            index=frame.index[rows],
        )

    def split_dates(self) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]] | None:
        """The first and last bar time of the training, validation and test blocks the
        model was trained with; None for a weights file that does not record them."""
        stored = self.document.get("training", {}).get("split_dates")
        if not stored:
            return None
        return {
            name: (pd.Timestamp(stored[name]["start"]), pd.Timestamp(stored[name]["end"]))
            for name in SPLIT_BLOCKS
        }

    def blocks_of(self, times: pd.DatetimeIndex) -> pd.Series:
        """Which part of the model's split each of ``times`` falls in, by date: ``before``
        (earlier than its training rows), ``train`` (its training rows and their purge),
        ``validation`` (early stopping, and that block's purge), ``test`` or ``after``
        (later than anything it was trained or judged on).

        Raises:
            ParameterError: the weights file records no split dates.
        """
        dates = self._required_split_dates()
        bounds = [
            times < dates["train"][0],
            times < dates["validation"][0],
            times < dates["test"][0],
            times <= dates["test"][1],
        ]
        names = np.select(bounds, ["before", "train", "validation", "test"], "after")
        return pd.Series(names, index=times, name="block")

    def _required_split_dates(self) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
        dates = self.split_dates()
        if dates is None:
            raise ParameterError(
                "this weights file does not record its training dates (written by an older "
                "version): which rows the model was trained on is unknown. Train it again, "
                "or pass `--all-rows` to score every row anyway"
            )
        return dates

    def backtest(
        self,
        frame: pd.DataFrame,
        threshold: float | None = None,
        fee_bp: float = DEFAULT_FEE_BP,
        slippage_bp: float = 0.0,
        *,
        all_rows: bool = False,
        ruin_floor: float = DEFAULT_RUIN_FLOOR,
    ) -> BacktestResult:
        """Backtest the strategy, the Q-filtered strategy and buy and hold on the bars of
        ``frame`` past the warm-up, scored with the stored normaliser (``score``).

        By default only bars from the model's validation block on are traded (by date,
        ``blocks_of``): never its training rows, whose books would be in-sample.

        Args:
            frame: canonical OHLCV frame.
            threshold: Q-filter threshold on the raw Q; default the one stored at training
                (the median raw Q on the training rows).
            fee_bp: fee per unit of position change, basis points.
            slippage_bp: slippage per unit of position change, basis points.
            all_rows: trade every bar past the warm-up, training rows included.
            ruin_floor: equity fraction at which a book is ruined and stops trading.

        Raises:
            ParameterError: no ``threshold`` given and none stored in the weights file; or,
                without ``all_rows``, a weights file without split dates or fewer than two
                bars of ``frame`` after the training period.
        """
        if threshold is None:
            threshold = self.document.get("backtest", {}).get("threshold")
        if threshold is None:
            raise ParameterError(
                "this weights file stores no Q-filter threshold; pass `--threshold`"
            )
        scores = self.score(frame)
        if not all_rows:
            dates = self._required_split_dates()
            scores = scores[scores.index >= dates["validation"][0]]
            if len(scores) < 2:
                end = dates["train"][1]
                raise ParameterError(
                    f"the dataset has {len(scores)} scored bar(s) after this model's training "
                    f"period (which ends {end.isoformat()}); backtest on later data, or pass "
                    "`--all-rows` to trade the training rows too (in-sample)"
                )
        return backtest(
            scores.index,
            scores["close"].to_numpy(),
            scores["direction"].to_numpy(),
            scores["q_raw"].to_numpy(),
            threshold,
            fee_bp=fee_bp,
            slippage_bp=slippage_bp,
            ruin_floor=ruin_floor,
        )


def read_weights(path: str | Path) -> SavedModel:
    """Load a weights file written by ``ssots train`` (schema 2, or 1: identity map).

    Raises:
        DataError: missing file, not JSON, or not an ``ssots.weights/2`` or ``/1`` document.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no such weights file: {path}; train one with `ssots train`") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(
            f"{path} is not JSON; pass a weights file written by `ssots train`"
        ) from None
    return saved_model(document, origin=str(path))


def saved_model(document: Any, *, origin: str = "the weights document") -> SavedModel:
    """A weights document (read from a file, the model registry or a request) as a model.

    Args:
        document: the parsed JSON.
        origin: what to call it in error messages.

    Raises:
        DataError: not an ``ssots.weights/2`` or ``/1`` document, or a damaged one.
    """
    if not isinstance(document, dict) or document.get("schema") not in READABLE_SCHEMAS:
        raise DataError(
            f'{origin} is not an SSO-TS weights file (expected "schema": "{SCHEMA}"); '
            "pass a file written by `ssots train --output`"
        )
    try:
        parameters = document["parameters"]
        names = QScoreModel.default(len(document["dimensions"])).param_names(document["dimensions"])
        model = QScoreModel.from_vector([parameters[name] for name in names])
        normalizer = features.Normalizer.from_dict(document["normalizer"])
        strategy = check_strategy(document["strategy"])
        calibration = (
            Calibration.identity()
            if document["schema"] == SCHEMA_V1
            else Calibration.from_dict(document["calibration"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{origin} is damaged ({exc}); write it again with `ssots train`") from None
    return SavedModel(
        model=model,
        normalizer=normalizer,
        strategy=strategy,
        document=document,
        calibration=calibration,
    )
