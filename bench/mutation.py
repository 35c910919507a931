"""Mutation testing of the checkers: do the tests notice a broken verifier?

Run: ``python bench/mutation.py`` (``--list`` shows the mutants without
running them, ``--target verify`` or ``--target cnn`` runs one of the two,
``--only 3,17-20`` runs some by number).

Each mutant changes one small thing in one checking function — a comparison
flipped, ``and`` made ``or``, a constant changed, a call's result replaced,
a statement left out, a verdict forced to "agrees" — in a temporary copy of
the package. The tests that cover that function then run with ``-x -q``;
a mutant they still pass *survives*. The targets are :mod:`symbackprop.proof.verify`
(every check of :func:`~symbackprop.proof.verify.verify` and
:func:`~symbackprop.proof.verify.verify_claim`) and the CNN proof with the pooling
winners fixed (:func:`~symbackprop.proof.winners.prove_with_winners`,
:func:`~symbackprop.proof.winners.all_winner_choices`). The exit status is the number
of survivors (0: every mutant was noticed).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symbackprop.proof.verify import verify as _verify  # noqa: E402
from symbackprop.proof.winners import prove_with_winners as _prove_with_winners  # noqa: E402


@dataclass(frozen=True)
class Target:
    name: str
    file: Path  # relative to ROOT
    functions: tuple[str, ...]  # qualified names: "f" or "Class.f"
    #: module-level assignments whose values are mutated too
    constants: tuple[str, ...]
    #: the tests that must notice, fastest killers first (pytest stops at the first failure)
    tests: tuple[str, ...]
    #: (old, new, what): mutations no operator below makes, applied as text
    extra: tuple[tuple[str, str, str], ...] = ()


def _relative(obj) -> Path:
    # Found through the objects, so the targets follow the modules wherever they live.
    return Path(inspect.getsourcefile(obj)).resolve().relative_to(ROOT)


TARGETS = (
    Target(
        "verify",
        _relative(_verify),
        ("VerificationReport.ok", "VerificationReport.summary", "prove_equal", "random_point",
         "_numeric_functions", "_evaluate", "_relative", "verify", "_central_difference", "_fd_verdict", "verify_claim",
         "_check_points", "_numerically_equal"),
        ("NUMERIC_TOLERANCE", "FD_STEP", "FD_TOLERANCE", "FD_ERROR_MARGIN"),
        ("tests/test_finite_differences.py", "tests/test_checkers_fail.py", str(_relative(_verify)), "tests/test_routes.py",
         "tests/test_guards.py"),
        (
            ("route.expanded(p))\n            report.checks.append(Check(p, EXACT, verdict,",
             "route.expanded(p))\n            report.checks.append(Check(p, EXACT, True,",
             "every exact check of verify() agrees"),
            ("agrees = bool(d <= NUMERIC_TOLERANCE) if method == NUMERIC else verdicts[p]",
             "agrees = True", "every numeric check of verify() agrees"),
        ),
    ),
    Target(
        "cnn",
        _relative(_prove_with_winners),
        ("prove_with_winners", "all_winner_choices"),
        (),
        ("tests/test_checkers_fail.py", str(_relative(_prove_with_winners)),
         "tests/test_cnn.py::test_routes_equal_exactly_for_every_choice_of_pooling_winners",
         "tests/test_cnn.py::test_a_wrong_winner_is_refuted"),
        (
            ("verdicts[p] = (", "verdicts[p] = True or (", "prove_with_winners always agrees"),
            ("lambda *args: args[choice[index_of[args]]]", "lambda *args: args[0]",
             "every Max fixed to its first input"),
        ),
    ),
)


@dataclass(frozen=True)
class Mutant:
    target: Target
    line: int
    what: str
    source: str  # the whole mutated file


# --- making mutants -----------------------------------------------------------------------

SWAP_COMPARE = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}
SWAP_BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
SWAP_CALL = {"max": "min", "min": "max", "any": "all", "all": "any"}


def _functions(tree: ast.Module, names: tuple[str, ...]) -> Iterator[ast.AST]:
    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if prefix + node.name in names:
                    yield node
            elif isinstance(node, ast.ClassDef):
                yield from walk(node.body, prefix + node.name + ".")

    yield from walk(tree.body, "")


def _replacements(node: ast.AST) -> Iterator[tuple[str, str]]:
    """(new source for node, description) for each mutation of this one node."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_COMPARE:
        new = ast.Compare(node.left, [SWAP_COMPARE[type(node.ops[0])]()], node.comparators)
        yield ast.unparse(new), "comparison flipped"
    elif isinstance(node, ast.BoolOp):
        new = ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
        yield ast.unparse(new), "and/or swapped"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield ast.unparse(node.operand), "not removed"
    elif isinstance(node, ast.BinOp) and type(node.op) in SWAP_BINARY:
        yield ast.unparse(ast.BinOp(node.left, SWAP_BINARY[type(node.op)](), node.right)), "operator swapped"
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str) and node.value is not None:
        if isinstance(node.value, bool):
            yield repr(not node.value), "boolean flipped"
        elif isinstance(node.value, int):
            yield repr(node.value + 1), "constant + 1"
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in SWAP_CALL:
            yield ast.unparse(ast.Call(ast.Name(SWAP_CALL[name]), node.args, node.keywords)), f"{name} → {SWAP_CALL[name]}"
        elif name == "abs":
            yield "(" + ast.unparse(node.args[0]) + ")", "abs removed"
        elif name == "bool":
            yield "True", "bool(…) → True"


def _statement_deletions(node: ast.AST) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield "pass", "call left out"
    elif isinstance(node, (ast.Continue, ast.Break)):
        yield "pass", f"{type(node).__name__.lower()} left out"
    elif isinstance(node, ast.Return) and node.value is not None and not isinstance(node.value, ast.Constant):
        yield "return None", "returns None"


def _splice(lines: list[bytes], node: ast.AST, text: str) -> str:
    # ast offsets count UTF-8 bytes
    start, col = node.lineno - 1, node.col_offset
    end, end_col = node.end_lineno - 1, node.end_col_offset
    new = lines[start][:col] + text.encode() + lines[end][end_col:]
    return b"".join(lines[:start] + [new] + lines[end + 1:]).decode()


def mutants(target: Target) -> list[Mutant]:
    source = (ROOT / target.file).read_text(encoding="utf-8")
    lines = source.encode("utf-8").splitlines(keepends=True)
    tree = ast.parse(source)
    scopes: list[ast.AST] = list(_functions(tree, target.functions))
    found = {getattr(s, "name", None) for s in scopes}
    missing = {n.split(".")[-1] for n in target.functions} - found
    if missing:
        raise SystemExit(f"{target.file}: no function {', '.join(sorted(missing))}")
    scopes += [n for n in tree.body if isinstance(n, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id in target.constants for t in n.targets)]
    out: list[Mutant] = []
    seen: set[str] = set()

    def add(line: int, what: str, text: str) -> None:
        if text != source and text not in seen:
            ast.parse(text)  # every mutant is valid Python
            seen.add(text)
            out.append(Mutant(target, line, what, text))

    for scope in scopes:
        docstring = ast.get_docstring(scope, clean=False) if isinstance(scope, ast.FunctionDef) else None
        for node in ast.walk(scope):
            if docstring is not None and isinstance(node, ast.Constant) and node.value == docstring:
                continue
            for text, what in _replacements(node):
                add(node.lineno, f"{what}: {ast.unparse(node)[:60]}", _splice(lines, node, text))
            if isinstance(node, (ast.If, ast.IfExp)):
                add(node.lineno, f"condition never true: {ast.unparse(node.test)[:60]}",
                    _splice(lines, node.test, "False"))
            if isinstance(node, ast.stmt) and node is not scope:
                for text, what in _statement_deletions(node):
                    add(node.lineno, f"{what}: {ast.unparse(node).splitlines()[0][:60]}",
                        _splice(lines, node, text))
    for old, new, what in target.extra:
        if source.count(old) != 1:
            raise SystemExit(f"{target.file}: the text {old!r} is not there exactly once")
        add(source[: source.index(old)].count("\n") + 1, what, source.replace(old, new))
    return out


# --- running them --------------------------------------------------------------------------

def _copy_tree(into: Path) -> None:
    shutil.copytree(ROOT / "symbackprop", into / "symbackprop", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", into / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, into / name)


def _run_tests(tree: Path, tests: tuple[str, ...], timeout: float) -> str:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    env = {"PYTHONPATH": str(tree), "CI": "1", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    return "survived" if result.returncode == 0 else "killed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=[t.name for t in TARGETS])
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--only", help="mutant numbers and ranges, such as 3,17-20")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    everything = [m for t in TARGETS if args.target in (None, t.name) for m in mutants(t)]
    numbered = list(enumerate(everything, start=1))
    if args.only:
        wanted = set()
        for part in args.only.split(","):
            first, _, last = part.partition("-")
            wanted.update(range(int(first), int(last or first) + 1))
        numbered = [(i, m) for i, m in numbered if i in wanted]
    if args.list:
        for i, m in numbered:
            print(f"{i:3d} {m.target.file}:{m.line}  {m.what}")
        return 0
    survivors = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree)
        for target in {m.target for _, m in numbered}:
            if _run_tests(tree, target.tests, args.timeout) != "survived":
                raise SystemExit(f"the tests of {target.name} fail without any mutation; fix them first")
        for i, m in numbered:
            path = tree / m.target.file
            original = path.read_text(encoding="utf-8")
            path.write_text(m.source, encoding="utf-8")
            start = time.perf_counter()
            try:
                outcome = _run_tests(tree, m.target.tests, args.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            print(f"{i:3d} {outcome:16s} {time.perf_counter() - start:5.1f}s  {m.target.file}:{m.line}  {m.what}",
                  flush=True)
            if outcome == "survived":
                survivors.append((i, m))
    print(f"\n{len(numbered) - len(survivors)} of {len(numbered)} mutants killed")
    for i, m in survivors:
        print(f"survived: {i} {m.target.file}:{m.line}  {m.what}")
    return len(survivors)


if __name__ == "__main__":
    sys.exit(main())
