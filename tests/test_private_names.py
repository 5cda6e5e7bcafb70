"""Internals stay private: no module imports a ``_name`` from another module (a private
module's ordinary names are its package's to use; a leading underscore means "this file
only")."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "ssots"


def test_no_private_name_is_imported_from_another_module() -> None:
    offences = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ssots"):
                offences += [
                    f"{path.relative_to(SOURCE)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if _private(alias.name) and not _is_module(node.module, alias.name)
                ]
    assert offences == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_module(package: str, name: str) -> bool:
    """``from ssots import _indicators``: a private module, used by the module owning it."""
    folder = SOURCE.parent.joinpath(*package.split("."))
    return (folder / f"{name}.py").is_file() or (folder / name).is_dir()
