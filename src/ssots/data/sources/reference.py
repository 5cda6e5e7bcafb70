"""Dataset references: what a ``--dataset`` value (or a job's dataset) names, typed.

The vocabulary, one word per meaning:

- ``demo``: the built-in synthetic data (``DemoRef``);
- ``file``: a CSV/Parquet file on this machine, given by its path (``FileRef``);
- ``registered``: a dataset in the registry, by id or name (``RegisteredRef``), whatever
  its origin (``kaggle``, ``upload`` or ``file``: ``DatasetRecord.source``);
- ``kaggle``: ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]``, fetched and registered on first use
  (``KaggleRef``).

"local" is not a kind: the API's legacy ``datasetSource: "local"`` means ``registered``.
Resolving a reference to data is ``ssots.services.datasets.resolve``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ssots.data.sources.kaggle.handles import KAGGLE, parse_ref, record_name
from ssots.spec import DEMO

Kind = Literal["demo", "file", "registered", "kaggle"]
KINDS: tuple[Kind, ...] = ("demo", "file", "registered", "kaggle")


@dataclass(frozen=True)
class DemoRef:
    """The built-in synthetic demo data."""

    kind: Literal["demo"] = "demo"

    def __str__(self) -> str:
        return DEMO


@dataclass(frozen=True)
class FileRef:
    """A CSV or Parquet file on this machine."""

    path: Path
    kind: Literal["file"] = "file"

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class RegisteredRef:
    """A registered dataset, by its id (12 hex digits) or its name."""

    key: str
    kind: Literal["registered"] = "registered"

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class KaggleRef:
    """A Kaggle dataset: ``handle`` (owner/slug), optionally one ``file`` of it and one
    coin's rows (``symbol``, upper case)."""

    handle: str
    file: str | None = None
    symbol: str | None = None
    kind: Literal["kaggle"] = "kaggle"

    def __str__(self) -> str:
        if self.file is not None:
            return record_name(self.handle, self.file, self.symbol)
        return f"{KAGGLE}{self.handle}" + (f"#{self.symbol}" if self.symbol else "")


DatasetRef = DemoRef | FileRef | RegisteredRef | KaggleRef


def parse_reference(text: str, *, files: bool = True) -> DatasetRef:
    """The reference ``text`` names: ``demo``; a path to an existing file (when
    ``files``); ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]``; else a registered id or name.

    Args:
        text: the value, e.g. of ``--dataset``.
        files: whether a path may name a file (False for values a remote client sent).

    Raises:
        ParameterError: a malformed ``kaggle:`` reference.
    """
    if text == DEMO:
        return DemoRef()
    if files:
        path = Path(text).expanduser()
        if path.is_file():
            return FileRef(path)
    if text.startswith(KAGGLE):
        return KaggleRef(*parse_ref(text))
    return RegisteredRef(text)
