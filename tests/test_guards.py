"""Refusals up front: sizes and counts the library will not start on, and the
argument checks of every public entry point."""

from __future__ import annotations

import inspect
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symbackprop
from symbackprop import (
    ConvolutionalNetwork,
    DataError,
    Network,
    NetworkSpecError,
    SizeLimitError,
    SymbackpropError,
    train,
    verify,
)
from symbackprop.cli import main
from symbackprop.engine.cnn import cnn_from_spec
from symbackprop.guards import MODEL_TERM_LIMIT, check_model_terms, cnn_terms, dense_terms
from symbackprop.layers.pooling import PoolMax
from symbackprop.measure.sweep import sweep, sweep_sizes
from symbackprop.numeric.optimizers import ExponentialDecay, Momentum

# --- models too large to build are refused before anything is built -------------------

def _built_terms(model) -> int:
    """Terms counted on a built model: its inputs, the terms of each sum, the
    inputs of each max, and 1 for any other equation."""
    def terms(expr) -> int:
        if isinstance(expr, sp.Add):
            return len(expr.args)
        return len(expr.args) if isinstance(expr, PoolMax) else 1

    return len(model.inputs) + sum(terms(e) for e in model.definitions.values())


#: A refusal up front takes milliseconds; building what is refused would take
#: minutes. The bound only tells the two apart, with room for a busy machine.
UP_FRONT = 10.0


@pytest.mark.parametrize("sizes", [[1, 1], [2, 3, 1], [12, 3, 2], [4, 4, 4, 4], [7, 1, 5]])
def test_dense_estimate_is_what_the_network_builds(sizes):
    assert dense_terms(sizes) == _built_terms(Network(sizes))


@pytest.mark.parametrize(
    "image,filters,filter_size,pool,outputs",
    [((6, 6), 3, (3, 3), (2, 2), 3), ((5, 7), 2, (2, 3), (2, 1), 2), ((3, 3), 1, (3, 3), (1, 1), 1),
     ((8, 6), 4, (1, 1), (4, 3), 5)],
)
def test_cnn_estimate_is_what_the_network_builds(image, filters, filter_size, pool, outputs):
    net = ConvolutionalNetwork(image, filters, filter_size, pool, outputs)
    assert cnn_terms(image, filters, filter_size, pool, outputs) == _built_terms(net)


def test_the_limit_is_inclusive():
    check_model_terms("a model", MODEL_TERM_LIMIT, "")
    with pytest.raises(SizeLimitError, match="at most 100,000"):
        check_model_terms("a model", MODEL_TERM_LIMIT + 1, "")


@pytest.mark.parametrize(
    "build",
    [
        lambda: Network([4096, 4096, 1]),  # each width is small; together 1.7e7 terms
        lambda: Network([1024, 1024, 1]),  # 81 s and 765 MB to build before this guard
        lambda: Network([10**22, 1]),
        lambda: Network([3] * 20_000),  # deep rather than wide
        lambda: ConvolutionalNetwork((4096, 4096)),
        lambda: ConvolutionalNetwork(image=10**6),
        lambda: ConvolutionalNetwork(filters=100_000),
        lambda: ConvolutionalNetwork(outputs=10**9),
        lambda: cnn_from_spec("4096x4096,3,3x3,2x2,3"),
        lambda: cnn_from_spec("6x6,100000,3x3,2x2,3"),
        lambda: symbackprop.ArrayModel([4096, 4096, 1]),
        lambda: symbackprop.Dense(2, sp.symbols("x_1:3"), 10**9, symbackprop.get_activation("sigmoid")),
    ],
)
def test_huge_models_are_refused_before_they_are_built(build):
    start = time.perf_counter()
    with pytest.raises(SizeLimitError, match="terms in its equations; the engine builds at most 100,000"):
        build()
    assert time.perf_counter() - start < UP_FRONT


# --- counts that would run for hours are capped in the library -------------------------

@pytest.mark.parametrize("points", [10**9, 1001, 0])
def test_verify_caps_its_random_points(points):
    with pytest.raises(DataError, match="up to 1,000"):
        verify(Network([1, 1]), points=points)


@pytest.mark.parametrize("epochs", [10**23, 1_000_001, -1])
def test_train_caps_its_epochs(epochs):
    model = symbackprop.ArrayModel([1, 1], activation="identity")
    with pytest.raises(DataError, match="from 0 to 1,000,000"):
        train(model, [[1.0]], [[1.0]], epochs=epochs)


@pytest.mark.parametrize(
    "over,points",
    [("depth", [1_000_000]), ("depth", [10**21]), ("width", [1025]), ("depth", [1, 41]),
     ("width", list(range(1, 42)))],
)
def test_sweep_caps_its_points(over, points):
    start = time.perf_counter()
    with pytest.raises(NetworkSpecError, match=f"a sweep over {over} takes 1 to 40 points"):
        sweep_sizes(over, [12, 3, 2], points)
    with pytest.raises(NetworkSpecError, match=f"a sweep over {over} takes 1 to 40 points"):
        sweep(over, [12, 3, 2], points, cap=None)
    assert time.perf_counter() - start < UP_FRONT


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["verify", "--cnn", "4096x4096,3,3x3,2x2,3"], "the engine builds at most 100,000"),
        (["verify", "--cnn", "6x6,100000,3x3,2x2,3"], "the engine builds at most 100,000"),
        (["verify", "--layers", "4096,4096,1"], "the engine builds at most 100,000"),
        (["verify", "--points", "1000000000"], "up to 1,000"),
        (["compare", "--sweep", "depth", "--points", "1000000"], "positive whole numbers up to 40"),
        (["compare", "--sweep", "depth", "--points", "1000000000000000000000"], "positive whole numbers up to 40"),
        (["compare", "--sweep", "width", "--points", "1000000"], "positive whole numbers up to 1024"),
        (["train", "digits01", "--epochs", "100000000000000000000000"], "from 0 to 1,000,000"),
    ],
)
def test_the_command_line_refuses_at_once(args, fragment, capsys):
    start = time.perf_counter()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1, err
    assert time.perf_counter() - start < UP_FRONT


# --- every public entry point checks its arguments -------------------------------------

#: Wrong values a caller might pass for any argument: each must be refused
#: with the project's error (or, where it happens to be valid, give a result).
BAD_VALUES = (None, "a", -1, 10**9, 1.5, [], object())
#: A refusal up front costs microseconds, and the valid calls here take under
#: 0.3 s; this bound catches a call that runs on (the machine may be shared).
SECONDS_PER_CALL = 5.0


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict[str, object]:
    """The objects valid calls share, built once."""
    folder = tmp_path_factory.mktemp("guards")
    model = symbackprop.ArrayModel([1, 1], activation="identity")
    params = {"W2": np.zeros((1, 1)), "b2": np.zeros(1)}
    return {
        "folder": folder,
        "net": symbackprop.Network([1, 1]),
        "model": model,
        "params": params,
        "saved": symbackprop.save_params(folder / "p.npz", model, params),
        "derivation": symbackprop.derive_arrays([1, 1], activation="identity"),
        "data": _write(folder / "d.csv", "x,k\n1,a\n2,b\n"),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _valid_calls(shared) -> dict[str, dict[str, object]]:
    """Each public callable's arguments for one small, valid call."""
    net, model, params = shared["net"], shared["model"], shared["params"]
    return {
        "CNNArrays": dict(image=(2, 2), filters=1, filter_size=(1, 1), pool=(1, 1), outputs=1,
                          activation="sigmoid", cost="squared", pooling="average", channels=1, stride=1,
                          padding=0, weight_decay=0),
        "ConvolutionalNetwork": dict(image=(2, 2), filters=1, filter_size=(1, 1), pool=(1, 1), outputs=1,
                                     activation="sigmoid", cost="squared", pooling="average", channels=1,
                                     stride=1, padding=0, input_errors=False, weight_decay=0),
        "Dense": dict(index=2, inputs=sp.symbols("x_1 x_2"), width=1,
                      activation=symbackprop.get_activation("sigmoid")),
        "network_derivation": dict(model=net, parameter="w^2_11", expand=False, force=False),
        "model_derivation": dict(model=symbackprop.Model(1, [{"kind": "dense", "width": 1}]), parameter="w^2_11",
                                 expand=False, force=False),
        "Model": dict(inputs=1, layers=[{"kind": "residual", "skip": 1}], cost="squared", weight_decay=0),
        "read_model": dict(path=_write(shared["folder"] / "m.json",
                                       '{"inputs": 1, "layers": [{"kind": "equations", "width": 1, "output": "z"}]}')),
        "ArrayModel": dict(sizes_or_network=[1, 1], activation="identity", cost="squared", init="book",
                           reuse=True),
        "ScalarModel": dict(sizes_or_network=[1, 1], activation="identity", cost="squared", init="book",
                            backend="numpy"),
        "accuracy": dict(model=model, params=params, X=[[1.0]], labels=[0]),
        "compile_arrays": dict(derivation=shared["derivation"]),
        "derive_arrays": dict(sizes_or_network=[1, 1], activation="identity", cost="squared"),
        "export_source": dict(model=[1, 1], activation="identity", cost="squared", weight_decay=0, target="numpy",
                              output=None),
        "write_export": dict(path=shared["folder"] / "grad.py", model=[1, 1], activation="identity", cost="squared",
                             weight_decay=0, target="numpy", output=None),
        "load_dataset": dict(name="digits01"),
        "load_params": dict(path=shared["saved"], model=model),
        "read_data_file": dict(path=shared["data"], target="k", targets=None, classes=None),
        "Adam": dict(beta1=0.9, beta2=0.999, epsilon=1e-8),
        "ExponentialDecay": dict(gamma=0.5),
        "GradientDescent": dict(),
        "Momentum": dict(mu=0.5),
        "StepDecay": dict(gamma=0.5, every=2),
        "save_params": dict(path=shared["folder"] / "q.npz", model=model, params=params, notes=None),
        "train": dict(model=model, X=[[1.0]], T=[[1.0]], params=params, eta=0.2, epochs=2, batch_size=None,
                      seed=0, progress=False, optimizer=Momentum(0.5), schedule=ExponentialDecay(0.5),
                      track=lambda p: 0.0),
        "verify_arrays": dict(sizes_or_network=[1, 1], activation="identity", cost="squared", batch=1),
        "Network": dict(sizes=[1, 1], activation="sigmoid", cost="squared", weight_decay="1/10", output=None),
        "approximation": dict(text="x*y", at=(1, 2), direction=None, variables=("x", "y"),
                              steps=("0.1", "0.01")),
        "book_latex": dict(expr=sp.Symbol("w^2_11")),
        "chain_rule_expansion": dict(model=net, parameter="w^2_11", force=False),
        "compile_scalar": dict(model=net, route=None, backend="numpy"),
        "count_paths": dict(model=net, parameter="w^2_11"),
        "delta_route": dict(model=net),
        "direct_route": dict(model=net, parameters=None, force=False, shared=False),
        "expression_size": dict(exprs=[sp.Symbol("x") + 1]),
        "get_activation": dict(spec="tanh"),
        "get_cost": dict(spec="squared"),
        "gradient_descent": dict(text="x**2", start=(1,), eta="0.1", steps=3, variables=("x",), tol=1e-10),
        "lagrange": dict(text="x*y", constraint="x + y - 1", variables=("x", "y"), seconds=10.0),
        "learning_rate_effect": dict(text="x**2", start=(1,), etas=("0.1",), steps=3, variables=("x",)),
        "minimum": dict(text="x**2 + y**2", variables=("x", "y"), seconds=10.0),
        "parse_expression": dict(text="x + 1", names=lambda name: sp.Symbol(name) if name == "x" else None,
                                 functions=None, what="expression"),
        "prove_equal": dict(left=sp.Symbol("x"), right=sp.Symbol("x")),
        "steepest_descent": dict(text="x**2 + y**2", at=(3, 2), variables=("x", "y")),
        "verify": dict(model=net, exact=False, numeric=True, finite_differences=True, points=1, seed=0,
                       parameters=None, force=False, progress=None),
        "verify_claim": dict(model=net, parameter="w^2_11", claim="(a^2_1 - t_1)*a^2_1*(1 - a^2_1)*x_1",
                             points=1, seed=0, force=False),
        "diagnose": dict(model=net, parameter="b^2_1", claim="delta^2_1", seed=0, force=False),
        "check_claims": dict(model=net, text="dC/db^2_1 = delta^2_1", seed=0, force=False),
        "check_backprop": dict(model=net, function=f"{_gradient_file(shared['folder'])}:gradient", seed=0,
                               timeout=60.0),
        "RecurrentNetwork": dict(steps=2, inputs=1, width=1, outputs=1, activation="tanh",
                                 output_activation="identity", cost="squared", every_step=False),
        "RecurrentArrays": dict(steps=2, inputs=1, width=1, outputs=1, activation="tanh",
                                output_activation="identity", cost="squared", every_step=False),
        "BatchNormNetwork": dict(sizes=[1, 1, 1], batch=2, activation="sigmoid", output_activation=None,
                                 cost="squared", epsilon="1/100000"),
        "BatchNormArrays": dict(sizes=[1, 1, 1], activation="sigmoid", output_activation=None, cost="squared",
                                epsilon="1/100000"),
    }


def _gradient_file(folder: Path) -> Path:
    """A right gradient function of the 1-1 sigmoid network, for check_backprop."""
    path = folder / "gradient.py"
    path.write_text(
        "import numpy as np\n"
        "def gradient(params, X, T):\n"
        "    a = 1 / (1 + np.exp(-(X @ params['W2'].T + params['b2'])))\n"
        "    delta = (a - T) * a * (1 - a)\n"
        "    return {'W2': delta.T @ X, 'b2': delta.sum(axis=0)}\n",
        encoding="utf-8",
    )
    return path


#: Public names that are not entry points for user values: the exceptions,
#: the protocols and the records the library returns (they hold results).
RECORDS = {
    "Activation", "ChainRuleExpansion", "CompiledGradient", "Cost", "DeltaRoute", "Derivation",
    "DirectRoute", "Layer", "LayeredModel", "Step", "Trainable", "TrainingResult", "VerificationReport",
    "BackpropReport", "ClaimDiagnosis", "ClaimsReport",
}


def _entry_points() -> list[str]:
    names = []
    for name in symbackprop.__all__:
        value = getattr(symbackprop, name)
        if isinstance(value, type) and issubclass(value, Exception) or name in RECORDS:
            continue
        names.append(name)
    return sorted(names)


def test_every_entry_point_has_a_valid_call(shared):
    """The battery below covers every public callable that takes user values."""
    assert set(_valid_calls(shared)) == set(_entry_points())


class _TooSlow(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TooSlow


@pytest.mark.parametrize("name", _entry_points())
def test_wrong_arguments_get_the_projects_error(name, shared):
    function = getattr(symbackprop, name)
    valid = _valid_calls(shared)[name]
    signature = inspect.signature(function)
    assert set(valid) == {
        p.name for p in signature.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    function(**valid)  # the valid call itself works
    failures = []
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for argument in valid:
            for bad in BAD_VALUES:
                call = dict(valid, **{argument: bad})
                start = time.perf_counter()
                signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_CALL)
                try:
                    function(**call)
                except SymbackpropError as exc:
                    assert str(exc), f"{name}({argument}={bad!r}) raised {type(exc).__name__} without a message"
                except _TooSlow:
                    failures.append(f"{argument}={bad!r}: still running after {SECONDS_PER_CALL} s")
                except Exception as exc:  # noqa: BLE001 - a foreign exception is what this test finds
                    failures.append(f"{argument}={bad!r}: {type(exc).__name__}: {exc}"[:200])
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                assert time.perf_counter() - start < SECONDS_PER_CALL + 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not failures, f"{name}: " + "\n".join(failures)


def test_the_readme_limits_are_the_ones_the_code_enforces():
    # The table is written by hand; every number in it must be the constant
    # that the refusal uses, so the two cannot drift apart.
    from symbackprop import guards
    from symbackprop.calculus.solving import POINT_SECONDS, SOLVE_SECONDS
    from symbackprop.functions import parsing
    from symbackprop.numeric import params

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- limits -->", 1)[1].split("<!-- /limits -->", 1)[0]
    rows = {line.split("|")[1].strip(): line.split("|")[2] for line in table.strip().splitlines()[2:]}

    def says(row: str, *values: float) -> None:
        for value in values:
            assert f"{value:,}" in rows[row], f"README limits, {row!r}: expected {value:,} in {rows[row]!r}"

    says("a model (any command)", guards.MODEL_TERM_LIMIT)
    says("a model file (`--model`)", guards.MODEL_FILE_LIMIT)
    says("the direct route (`derive`, `verify`)", guards.DIRECT_ROUTE_LIMIT)
    says("chain-rule paths listed (`--expand`)", guards.PATH_LIMIT)
    says("`verify --points`", guards.MAX_POINTS)
    says("`train --epochs`, `calc gd` steps", guards.MAX_STEPS)
    says("`compare --batch`", guards.MAX_BATCH)
    says("`compare --sweep --points`", guards.MAX_SWEEP_POINTS, guards.SWEEP_LARGEST["width"])
    says("`--recurrent T`, `vanishing --lengths`", guards.MAX_TIME_STEPS)
    says("`--batch-norm m`", guards.MAX_NORM_BATCH)
    says("`vanishing --width`, its batch (`vanishing_gradients(batch=…)`)", guards.MAX_VANISHING_WIDTH,
         guards.MAX_VANISHING_BATCH)
    says("a number in a formula, option or data file", parsing.MAX_DIGITS)
    says("a data file (`train`, `evaluate`)", guards.MAX_DATA_FILE_BYTES, guards.MAX_DATA_VALUES)
    says("a formula multiplied out", parsing.MAX_DEGREE)
    says("a formula's text, its nesting", parsing.MAX_LENGTH, parsing.MAX_DEPTH)
    says("`check --timeout`", guards.MAX_USER_CODE_SECONDS)
    says("exact values at a point in `calc approx` / `steepest`", int(POINT_SECONDS))
    says("exact solving in `calc minimum` / `lagrange`", int(SOLVE_SECONDS))
    says("a parameter file", params._JSON_BYTES_PER_VALUE, params._NPZ_BYTES_PER_VALUE)
    assert params._JSON_BYTES == params._NPZ_BYTES == 64 * 1024
