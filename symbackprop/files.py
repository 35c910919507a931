"""Files the library writes: checked before long work, written whole or not at all.

>>> import tempfile, os
>>> from symbackprop.errors import DataError
>>> with tempfile.TemporaryDirectory() as folder:
...     path = check_output_path(os.path.join(folder, "c.svg"), (".svg",), "charts end in .svg",
...                              "chart.svg", DataError)
...     write_atomically(path, lambda stream: stream.write(b"<svg/>"))
...     path.read_bytes()
b'<svg/>'
>>> check_output_path("c.png", (".svg",), "charts end in .svg", "chart.svg", DataError)
Traceback (most recent call last):
...
symbackprop.errors.DataError: c.png: charts end in .svg
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import SymbackpropError


def check_output_path(
    path: str | os.PathLike, suffixes: tuple[str, ...], wrong_suffix: str, example: str,
    error: type[SymbackpropError],
) -> Path:
    """``path`` if a file can be written there: one of ``suffixes``, in an
    existing folder this process may write to, not itself a folder. Called
    before the work whose result it will hold, so that a long run is not lost
    to a typo. ``wrong_suffix`` and ``example`` (a file name) make the messages."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise error(f"{path}: {wrong_suffix}")
    if not path.parent.is_dir():
        raise error(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise error(f"{path}: is a folder; give a file name such as {path / example}")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise error(f"{path}: cannot be written here; give a file in a folder you can write to")
    return path


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a new file beside ``path``, then put it in ``path``'s
    place: a failure leaves any existing file untouched."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        # mkstemp makes the file private; what is written is a file like any other.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
