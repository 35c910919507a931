"""Reading an ``.npz`` archive without pickle: the one way every ``.npz``
file (a data file, a parameter file) is read.

``np.load`` would read a file that is not a zip as a pickle or a bare
``.npy``, and its message would suggest ``allow_pickle=True``, which is never
safe here. So the file must start as a zip does, the archive's directory is
shown to the caller (names, sizes, ``.npy`` headers) before any data are
read, and each array is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable

import numpy as np

from ..errors import SymbackpropError
from ..files import open_for_reading

__all__ = ["read_npz"]

#: A zip file starts with a local file header, or, when empty, its end record.
ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")


def read_npz(
    path: str | os.PathLike,
    kind: str,
    error: type[SymbackpropError],
    members: Callable[[zipfile.ZipFile], dict[str, zipfile.ZipInfo]],
    *,
    limit: int,
    why: str,
    not_npz: str,
    damaged: str,
) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` archive at ``path`` (a ``kind`` of file) by
    the names ``members`` gives them after checking the archive's directory;
    any failure is one ``error`` that says what to do: ``not_npz`` for a file
    that is no zip, ``damaged`` for one that cannot be read whole.

    >>> import io, tempfile, os, pathlib
    >>> from symbackprop.errors import DataError
    >>> every = lambda archive: {i.filename.removesuffix(".npy"): i for i in archive.infolist()}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "a.npz")
    ...     np.savez(path, X=np.eye(2))
    ...     read_npz(path, "data file", DataError, every, limit=10**6, why="", not_npz="", damaged="")["X"].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "a.npz")
    ...     _ = pathlib.Path(path).write_text("X,T")
    ...     read_npz(path, "data file", DataError, every, limit=10**6, why="", not_npz="(as numpy.savez writes)",
    ...              damaged="")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: ...a.npz: not an .npz archive (as numpy.savez writes)
    """
    with open_for_reading(path, kind, error, limit, why) as stream:
        try:
            if stream.read(4) not in ZIP_STARTS:
                raise error(f"{path}: not an .npz archive {not_npz}")
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                arrays = {}
                for name, info in members(archive).items():
                    with archive.open(info) as member:
                        arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
                return arrays
        except error:
            raise
        except OSError as exc:
            raise error(f"{path}: cannot read the {kind} ({exc.strerror or exc})") from None
        # Where a damaged archive fails decides what it raises: zipfile, zlib,
        # EOFError, the .npy header parser (tokenize, ast), numpy's ValueError
        # (an array of Python objects). Each means the same thing to the user.
        except Exception as exc:
            raise error(f"{path}: not a valid .npz archive ({type(exc).__name__}: {exc}); {damaged}") from None
