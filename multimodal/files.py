"""Writing output files safely: never a half-written file, and the usual permissions."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Write text through a temporary file in the same folder, then rename it over ``path``.

    A reader sees the old file or the whole new one, never a part. The file gets the
    permissions a plain ``open`` would give (``0o666`` less the umask), not ``mkstemp``'s 0600.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
