"""Every file the library writes or reads for the user, through one door each way.

Writing: :func:`check_output_path` before the work whose result the file
will hold, so that a long run is not lost to a typo, then
:func:`write_atomically` (or :func:`write_text`), which writes a new file
beside the old one and puts it in its place: a full disk, a file-size limit
or an interruption leaves the old file as it was.

A symbolic link is never written through: :func:`check_output_path` refuses
one (writing *into* the link's target would change a file elsewhere, and
replacing the link would quietly break what it was for), naming the target
so that it can be given instead; :func:`write_atomically` itself replaces a
link, never its target.

Reading: :func:`open_for_reading` (and :func:`read_text` on it), with a
size limit checked before anything is read, and :func:`parse_json`. One rule for every text file (data, images,
parameters, CSV or JSON): UTF-8, with a leading byte-order mark ignored,
as editors on Windows write one; in JSON a key given twice and a number
beyond the range of floats are errors, not silently the last one or
infinity. Every message names the file.

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

import json
import math
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


def open_for_reading(
    path: str | os.PathLike, kind: str, error: type[SymbackpropError],
    limit: int | None = None, why: str = "",
) -> BinaryIO:
    """The ``kind`` of file at ``path``, open for reading; one of more than
    ``limit`` bytes is refused before anything is read, ``why`` saying where
    the limit comes from.

    >>> open_for_reading("no/such.json", "parameter file", SymbackpropError)
    Traceback (most recent call last):
    ...
    symbackprop.errors.SymbackpropError: no/such.json: no such parameter file
    """
    path = Path(path)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise error(f"{path}: no such {kind}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {kind}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {kind} ({exc.strerror or exc})") from None
    size = os.fstat(stream.fileno()).st_size
    if limit is not None and size > limit:
        stream.close()
        raise error(f"{path}: the file has {size:,} bytes; {why}")
    return stream


def read_text(
    path: str | os.PathLike, kind: str, error: type[SymbackpropError],
    limit: int | None = None, why: str = "",
) -> str:
    """The text of the ``kind`` of file at ``path`` (UTF-8, a leading
    byte-order mark ignored), opened by :func:`open_for_reading`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "d.csv"
    ...     _ = path.write_bytes(b"\\xef\\xbb\\xbfx,y")
    ...     text = read_text(path, "data file", SymbackpropError)
    ...     read_text(path, "data file", SymbackpropError, limit=4, why="a test file has at most 4 bytes")
    Traceback (most recent call last):
    ...
    symbackprop.errors.SymbackpropError: .../d.csv: the file has 6 bytes; a test file has at most 4 bytes
    >>> text
    'x,y'
    """
    with open_for_reading(path, kind, error, limit, why) as stream:
        try:
            # The file may have grown since it was measured: never read more than the limit.
            data = stream.read() if limit is None else stream.read(limit + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read the {kind} ({exc.strerror or exc})") from None
    if limit is not None and len(data) > limit:
        raise error(f"{path}: the file has more than {limit:,} bytes; {why}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start + 1}); save the {kind} as UTF-8") from None


def parse_json(
    text: str, where: str, kind: str, error: type[SymbackpropError],
    parse_float: Callable[[str], object] | None = None, parse_int: Callable[[str], object] | None = None,
) -> object:
    """JSON text with keys given once; numbers are floats and ints within the
    range of floats unless ``parse_float`` / ``parse_int`` read them
    otherwise.

    >>> parse_json('{"b": [1, 2.5]}', "p.json", "parameter file", SymbackpropError)
    {'b': [1, 2.5]}
    >>> parse_json('{"b": [1], "b": [2]}', "p.json", "parameter file", SymbackpropError)
    Traceback (most recent call last):
    ...
    symbackprop.errors.SymbackpropError: p.json: the key 'b' is given twice; a parameter file names each entry once
    >>> parse_json('{"b": [1e400]}', "p.json", "parameter file", SymbackpropError)
    Traceback (most recent call last):
    ...
    symbackprop.errors.SymbackpropError: p.json: the number 1e400 is beyond the range of floating-point numbers (about ±1.8e308)
    """

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        document = {}
        for key, value in pairs:
            if key in document:
                raise error(f"{where}: the key {key!r} is given twice; a {kind} names each entry once")
            document[key] = value
        return document

    def beyond_floats(number: str) -> SymbackpropError:
        shown = number if len(number) <= 24 else f"{number[:12]}…{number[-6:]} ({len(number)} characters)"
        return error(f"{where}: the number {shown} is beyond the range of floating-point numbers (about ±1.8e308)")

    def finite_float(number: str) -> float:
        value = float(number)  # 1e400 would be infinity
        if math.isinf(value):
            raise beyond_floats(number)
        return value

    def float_sized_int(number: str) -> int:
        # JSON integers have no leading zeros, so more than 309 digits is at
        # least 10^309; int() itself refuses more than 4300 digits.
        if len(number.lstrip("-")) > 309 or abs(value := int(number)) >= 2**1024:
            raise beyond_floats(number)
        return value

    try:
        return json.loads(
            text, object_pairs_hook=unique,
            parse_float=parse_float or finite_float, parse_int=parse_int or float_sized_int,
        )
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not a valid JSON {kind} (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise error(f"{where}: the JSON is nested too deeply to be a {kind}") from None
