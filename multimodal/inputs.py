"""Turning the paths a user gives into the list of files to analyse."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InputItem:
    """One file to analyse.

    Attributes:
        path: where the file is.
        source: how results name it: the path as given, or for a file found in a folder, its
            path inside that folder.
    """

    path: Path
    source: str


def expand_inputs(paths: Iterable[str | Path]) -> list[InputItem]:
    """Files to analyse, in order: files as given, folders expanded recursively and sorted.

    Hidden files and folders (names starting with ``.``) inside folders are skipped. A path that
    does not exist is kept, so that analysing it reports the error by name.
    """
    items: list[InputItem] = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            items.append(InputItem(path, str(given)))
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found.extend(Path(root) / f for f in files if not f.startswith("."))
        for file in sorted(found, key=lambda p: p.relative_to(path).as_posix()):
            items.append(InputItem(file, file.relative_to(path).as_posix()))
    return items


def output_names(items: list[InputItem]) -> list[str]:
    """A distinct, filesystem-safe folder name per item, derived from its source."""
    names: list[str] = []
    used: set[str] = set()
    for item in items:
        parts = [p for p in item.source.replace("\\", "/").split("/") if p not in ("", ".", "..")]
        if item.path.name and Path(item.source).is_absolute():
            parts = parts[-1:]
        base = "__".join(parts) or "input"
        base = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in base).lstrip(".")
        base = base or "input"
        name, n = base, 2
        while name in used:
            name = f"{base}-{n}"
            n += 1
        used.add(name)
        names.append(name)
    return names
