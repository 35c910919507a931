"""The command line for recurrent and batch-normalised models, and their documents."""

import pytest

from symbackprop.cli import main
from symbackprop.documents.batchnorm import documents as batch_norm_documents
from symbackprop.documents.recurrent import documents as recurrent_documents


@pytest.mark.parametrize("args", [
    ["verify", "--recurrent", "2", "--layers", "1,2,1", "--activation", "generic", "--exact"],
    ["verify", "--recurrent", "2", "--layers", "1,2,1", "--activation", "tanh;sigmoid", "--every-step"],
    ["verify", "--batch-norm", "2", "--layers", "1,1,1", "--activation", "generic", "--exact"],
])
def test_verify_proves_the_models(args, capsys):
    assert main(args) == 0
    assert "checks agree" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["verify", "--recurrent", "0"], "time steps T must be a whole number from 1"),
    (["verify", "--batch-norm", "1"], "m ≥ 2"),
    (["verify", "--batch-norm", "3", "--epsilon", "0"], "ε > 0"),
    (["verify", "--batch-norm", "3", "--epsilon", "-1e-5"], "ε > 0"),
    (["verify", "--batch-norm", "2", "--recurrent", "2"], "two different models"),
    (["verify", "--recurrent", "2", "--layers", "1,2"], "inputs,units,outputs"),
    (["verify", "--recurrent", "2", "--cnn"], "--cnn is for a convolutional network, a third kind"),
    (["verify", "--recurrent", "2", "--stride", "2"], "--stride is for a convolutional network"),
    (["verify", "--every-step"], "an option of --recurrent"),
    (["verify", "--recurrent", "2", "--model", "net.json"], "--model and --recurrent describe two different"),
    (["derive", "--batch-norm", "3", "--model", "net.json"], "--model and --batch-norm describe two different"),
    (["derive", "--recurrent", "2", "--param", "w_11"], "plain networks"),
    (["train", "cnn123", "--batch-norm"], "no batch_norm option"),
])
def test_bad_shapes_get_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_derive_writes_the_recurrent_and_batch_norm_documents(capsys):
    assert main(["derive", "--recurrent", "2", "--layers", "1,1,1", "--activation", "generic"]) == 0
    out = capsys.readouterr().out
    assert "Unit errors through time" in out and "all agree" in out
    assert main(["derive", "--batch-norm", "2", "--layers", "1,1,1", "--format", "markdown"]) == 0
    assert "The compact formula" in capsys.readouterr().out


def test_the_documents_state_what_was_proved():
    rnn = recurrent_documents()["recurrent-bptt"]
    notes = " ".join(step.note for step in rnn.steps)
    assert "is NOT" not in notes and notes.count("is the taught formula") >= 6
    assert rnn.steps[-1].note.endswith("all agree.")
    bn = batch_norm_documents()["batch-normalisation"]
    notes = " ".join(step.note for step in bn.steps)
    assert "NOT equal" not in notes and ": proved." in notes and "Proved from the derived unit errors: yes." in notes
    assert bn.steps[-1].note.endswith("all agree.")


def test_train_learns_the_sequence_task(capsys):
    assert main(["train", "sequence-sign", "--epochs", "60"]) == 0
    out = capsys.readouterr().out
    held = float(out.split("held-out accuracy ")[1].split("%")[0])
    assert held >= 90.0


def test_train_learns_the_digits_with_batch_normalisation(capsys):
    pytest.importorskip("sklearn")
    assert main(["train", "digits8x8", "--batch-norm", "--eta", "0.1", "--epochs", "5"]) == 0
    out = capsys.readouterr().out
    assert "64-32-10 batch-normalised" in out
    assert float(out.split("held-out accuracy ")[1].split("%")[0]) >= 93.0
