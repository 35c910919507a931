"""Files the library writes (checked first, written whole, with the usual permissions,
never through a link) and reads (one rule for every text file)."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from symbackprop.calculus.regression import read_data
from symbackprop.cli import main
from symbackprop.documents.derivation import Derivation
from symbackprop.documents.topics import check_documents_folder, render_documents
from symbackprop.errors import DataError
from symbackprop.files import check_output_path, write_atomically
from symbackprop.numeric.arrays import ArrayModel
from symbackprop.numeric.datasets import load_image_file
from symbackprop.numeric.params import load_params


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


# --- every command writes through the one checked, atomic writer ------------------

def write_markdown(path) -> int:
    """A quick command that writes a file: chapter 2's minimum of x², as Markdown."""
    return main(["calc", "minimum", "x**2", "--format", "markdown", "--out", str(path)])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


class FillingDisk:
    """A file on a disk that is full after ``room`` bytes: the write that
    goes past it stores what fits and fails with ENOSPC, as a real one does."""

    def __init__(self, stream, room: int) -> None:
        self.stream, self.room = stream, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.stream.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stream.close()


@pytest.mark.parametrize("command", ["calc", "derive"])
def test_a_full_disk_leaves_the_old_file_whole_and_names_it(tmp_path, monkeypatch, capsys, command):
    old = tmp_path / "result.md"
    old.write_text("the old result\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: FillingDisk(real_fdopen(fd, mode, *a, **k), 10))
    # open() (what the commands used) is not os.fdopen: a disk that fills up
    # part-way through any file the commands write.
    real_open = open
    monkeypatch.setattr("builtins.open", lambda file, mode="r", *a, **k: FillingDisk(
        real_open(file, mode, *a, **k), 10) if "w" in mode else real_open(file, mode, *a, **k))
    if command == "calc":
        status = write_markdown(old)
    else:
        status = main(["derive", "--layers", "1,1", "--format", "markdown", "--out", str(old)])
    monkeypatch.undo()
    assert status == 2
    assert old.read_text() == "the old result\n"
    assert f"{old}: No space left on device" in one_error_line(capsys)
    assert os.listdir(tmp_path) == ["result.md"]


def test_a_symbolic_link_is_refused_and_its_target_kept(tmp_path, capsys):
    target = tmp_path / "notes.md"
    target.write_text("mine\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert write_markdown(link) == 2
    assert f"{link}: is a symbolic link to {target}" in one_error_line(capsys)
    assert target.read_text() == "mine\n" and link.is_symlink()
    # a dangling link too: writing through it would make a file elsewhere
    dangling = tmp_path / "dangling.md"
    dangling.symlink_to(tmp_path / "elsewhere.md")
    assert write_markdown(dangling) == 2
    assert "is a symbolic link" in one_error_line(capsys)
    assert not (tmp_path / "elsewhere.md").exists()


def test_an_empty_output_name_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert write_markdown("") == 2
    assert "the file name is empty" in one_error_line(capsys)
    assert main(["derive", "--layers", "1,1", "--out", ""]) == 2
    assert "the file name is empty" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_derivations_needs_a_folder_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("the user's own\n")
    assert main(["derivations", "--out", ""]) == 2
    assert "the folder name is empty" in one_error_line(capsys)
    assert main(["derivations"]) == 2
    assert "--out" in one_error_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    assert (tmp_path / "README.md").read_text() == "the user's own\n"


def test_derivations_refuses_a_folder_of_other_files_and_a_file(tmp_path, capsys):
    (tmp_path / "README.md").write_text("the user's own\n")
    assert main(["derivations", "--out", str(tmp_path)]) == 2
    assert "holds other files" in one_error_line(capsys)
    assert (tmp_path / "README.md").read_text() == "the user's own\n"
    assert main(["derivations", "--out", str(tmp_path / "README.md")]) == 2
    assert f"{tmp_path / 'README.md'}: is a file, not a folder" in one_error_line(capsys)


def test_derivations_may_write_again_where_they_were_written(tmp_path):
    written = tmp_path / "derivations"
    written.mkdir()
    for name, text in render_documents({"x": Derivation("X", [])}).items():
        (written / name).write_text(text)
    empty = tmp_path / "empty"
    empty.mkdir()
    new = tmp_path / "new"
    assert [check_documents_folder(f) for f in (written, empty, new)] == [written, empty, new]


# --- one rule for every text file the library reads --------------------------------

BOM = b"\xef\xbb\xbf"


def test_a_byte_order_mark_is_ignored_in_every_kind_of_file(tmp_path):
    model = ArrayModel([1, 1])
    params = tmp_path / "p.json"
    params.write_bytes(BOM + json.dumps({"W2": [[2.0]], "b2": [3.0]}).encode())
    assert load_params(params, model)["W2"].tolist() == [[2.0]]
    images = tmp_path / "images.json"
    images.write_bytes(BOM + json.dumps(
        {"classes": [0, 1], "shape": [1, 2], "images": [{"rows": ["01"], "label": 1}]}).encode())
    assert load_image_file(images, "mine").labels.tolist() == [1]
    for name, content in (("d.csv", b"1,2\n3,5\n"), ("d.json", b'{"x": [1, 3], "y": [2, 5]}')):
        data = tmp_path / name
        data.write_bytes(BOM + content)
        assert read_data(data) == ([1, 3], [2, 5])


@pytest.mark.parametrize(
    "content",
    [b'{"x": [1, 2], "y": [1, 2], "x": [3, 4]}', b'{"classes": [0], "classes": [1], "shape": [1], "images": []}'],
)
def test_a_key_given_twice_is_refused_in_every_json_file(tmp_path, content):
    path = tmp_path / "d.json"
    path.write_bytes(content)
    read = read_data if b'"x"' in content else lambda p: load_image_file(p, "mine")
    with pytest.raises(DataError, match=f"{path}: the key '.*' is given twice"):
        read(path)


def test_a_file_that_cannot_be_read_is_named(tmp_path):
    folder = tmp_path / "d.csv"
    folder.mkdir()
    with pytest.raises(DataError, match=f"{folder}: is a folder, not a data file"):
        read_data(folder)
    latin1 = tmp_path / "l.csv"
    latin1.write_bytes("x,y\n1,2 µ\n".encode("latin-1"))
    with pytest.raises(DataError, match=f"{latin1}: not UTF-8 text"):
        read_data(latin1)


def test_a_long_number_within_the_range_of_floats_is_read(tmp_path):
    # 400 digits, but times 10^-300 it is about 1.1e99
    path = tmp_path / "p.json"
    path.write_text('{"W2": [[' + "1" * 400 + 'e-300]], "b2": [0]}')
    assert load_params(path, ArrayModel([1, 1]))["W2"][0, 0] == pytest.approx(1.111111111111111e99)
