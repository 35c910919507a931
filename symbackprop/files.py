"""Every file the library writes for the user, through one door.

:func:`check_output_path` before the work whose result the file
will hold, so that a long run is not lost to a typo, then
:func:`write_atomically` (or :func:`write_text`), which writes a new file
beside the old one and puts it in its place: a full disk, a file-size limit
or an interruption leaves the old file as it was.

A symbolic link is never written through: :func:`check_output_path` refuses
one (writing *into* the link's target would change a file elsewhere, and
replacing the link would quietly break what it was for), naming the target
so that it can be given instead; :func:`write_atomically` itself replaces a
link, never its target.

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
    path: str | os.PathLike, suffixes: tuple[str, ...] | None, wrong_suffix: str, example: str,
    error: type[SymbackpropError],
) -> Path:
    """``path`` if a file can be written there: a non-empty name with one of
    ``suffixes`` (None: any), in an existing folder this process may write
    to, not a folder and not a symbolic link. ``wrong_suffix`` and
    ``example`` (a file name) make the messages.

    >>> from symbackprop.errors import DataError
    >>> check_output_path("", None, "", "notes.md", DataError)
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: the file name is empty; give a file such as notes.md
    """
    if not os.fspath(path):  # Path("") would be "." and write into the current folder
        raise error(f"the file name is empty; give a file such as {example}")
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise error(f"{path}: {wrong_suffix}")
    if path.is_symlink():
        target = Path(os.readlink(path))
        raise error(
            f"{path}: is a symbolic link to {target}; symbackprop does not write through links: "
            f"give {path.parent / target} itself, or another name"
        )
    if not path.parent.is_dir():
        raise error(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise error(f"{path}: is a folder; give a file name such as {path / example}")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise error(f"{path}: cannot be written here; give a file in a folder you can write to")
    return path


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a new file beside ``path``, then put it in ``path``'s
    place: a failure leaves any existing file untouched, and an error of the
    system (a full disk) names ``path``, not the temporary file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "x.txt"
    ...     write_atomically(path, lambda stream: stream.write(b"new"))
    ...     path.read_text()
    'new'
    """
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            # On disk before the rename, so that a crash cannot leave an empty
            # file in place of the old one; some file systems report a full
            # disk only here.
            os.fsync(stream.fileno())
        # mkstemp makes the file private; what is written is a file like any other.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException as exc:
        os.unlink(temporary)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 with :func:`write_atomically`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_text(Path(folder) / "δ.md", "δ^l_j")
    ...     (Path(folder) / "δ.md").read_text(encoding="utf-8")
    'δ^l_j'
    """
    data = text.encode("utf-8")
    write_atomically(path, lambda stream: stream.write(data))
