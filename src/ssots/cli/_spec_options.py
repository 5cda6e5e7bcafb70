"""Command-line options derived from ``ssots.spec.RunSpec``: one option per run setting,
with the spec's flag, default, help and range, so no command restates them.

``run_spec_options`` is hand-written because Typer builds options from a function's
signature only: the decorator appends the spec's parameters to that signature and hands
the command their values as one dict, ``spec_values``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ssots.spec import FIELDS, RunSpec, field_schema, range_text

__all__ = ["flag_of", "run_spec_options"]


def flag_of(name: str) -> str:
    """The CLI option of ``RunSpec`` field ``name`` (``fee_bp`` -> ``--fee``), or ``name``
    itself for anything else."""
    return FIELDS[name].flag if name in FIELDS else name


def run_spec_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` an option for every ``RunSpec`` field; it receives their values as
    ``spec_values`` (field name -> value as typed, ready for ``RunSpec.build``)."""
    own = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in inspect.signature(command, eval_str=True).parameters.values()
        if parameter.name != "spec_values"
    ]
    added = [_parameter(name) for name in FIELDS]

    @functools.wraps(command)
    def wrapper(**values: Any) -> Any:
        spec_values = {name: values.pop(name) for name in FIELDS}
        return command(spec_values=spec_values, **values)

    wrapper.__signature__ = inspect.Signature([*added, *own])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in (*added, *own)}
    return wrapper


def _parameter(name: str) -> inspect.Parameter:
    schema = field_schema(name)
    if schema["type"] == "boolean":  # a flag: --allow-gaps, no value and no --no- twin
        option = typer.Option(schema["flag"], help=_help(schema), metavar="")
    else:
        option = typer.Option(
            schema["flag"], help=_help(schema), show_default=schema["default"] is not None
        )
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[_python_type(name, schema), option],
        default=schema["default"],
    )


def _python_type(name: str, schema: dict[str, Any]) -> Any:
    """What the command line parses: text for choices and the split (the spec validates
    them, naming the option), a flag for a boolean, numbers otherwise."""
    if schema["type"] in ("choice", "text"):
        return str
    if schema["type"] == "boolean":
        return bool
    base = int if schema["type"] == "integer" else float
    return base | None if RunSpec.model_fields[name].default is None else base


def _help(schema: dict[str, Any]) -> str:
    text = schema["help"][0].upper() + schema["help"][1:]
    bounds = range_text(schema)
    return (f"{text}: {bounds}." if bounds else f"{text}.").replace("`", "")
