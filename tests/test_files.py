"""Files written by the library: checked first, written whole, with the usual permissions."""

from __future__ import annotations

import os
import stat

import pytest

from symbackprop.errors import DataError
from symbackprop.files import check_output_path, write_atomically


def test_a_written_file_gets_the_permissions_of_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = tmp_path / "out.svg"
        write_atomically(path, lambda stream: stream.write(b"<svg/>"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.svg"
    path.write_bytes(b"old")

    def fail(stream):
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(path, fail)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.svg"]


def test_a_temporary_that_cannot_be_made_is_reported_under_the_name_asked_for(tmp_path):
    missing = tmp_path / "gone" / "out.svg"
    with pytest.raises(OSError) as caught:
        write_atomically(missing, lambda stream: None)
    assert caught.value.filename == str(missing)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(DataError, match="cannot be written here"):
            check_output_path(folder / "out.svg", (".svg",), "charts end in .svg", "chart.svg", DataError)
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(
    "name,fragment",
    [("out.png", "charts end in .svg"), ("no/such/out.svg", "does not exist"), ("folder.svg", "is a folder")],
)
def test_bad_output_paths_say_what_to_fix(tmp_path, name, fragment):
    (tmp_path / "folder.svg").mkdir()
    with pytest.raises(DataError, match=fragment):
        check_output_path(tmp_path / name, (".svg",), "charts end in .svg", "chart.svg", DataError)
