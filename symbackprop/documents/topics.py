"""The documents in ``derivations/``: one derivation per topic of the book.

Each topic is built from the engine's objects, like every other derivation.
Other modules contribute their own topics: a module listed in
:data:`PROVIDERS` that exists and has ``documents() -> dict[str, Derivation]``
(file stem → derivation) is collected too; one that does not exist yet
contributes nothing.

>>> sorted(TOPICS)
['backprop-12-3-2', 'cross-entropy', 'delta-recurrence', 'neuron-and-activations', 'softmax-cross-entropy', 'weight-decay']
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

import sympy as sp

from ..engine import index_rules as index_form
from ..engine.cnn import ConvolutionalNetwork
from ..engine.index_rules import index_rules, instantiate, matrix_form, matrix_form_entry
from ..engine.network import Network
from ..engine.routes import delta_route, local_derivative
from ..errors import NotDifferentiableError, OutputPathError
from ..files import check_output_path, write_text
from ..functions.activations import BUILTIN as ACTIVATIONS
from ..notation.symbols import COST, Partial
from ..proof.verify import prove_equal, verify
from .backprop import network_derivation, verdict_sentence
from .derivation import Derivation, Step

#: Modules that may contribute documents (chapter 2, the CNN, recurrent networks, batch
#: normalisation, wrong claims, models built from layer specifications).
PROVIDERS = (
    "symbackprop.calculus.chapter", "symbackprop.documents.cnn", "symbackprop.documents.recurrent",
    "symbackprop.documents.batchnorm", "symbackprop.documents.wrong_claims", "symbackprop.documents.graph",
)

_Z = sp.Symbol("z")
_ACTIVATION_HEADINGS = {
    "sigmoid": "The sigmoid σ",
    "tanh": "The hyperbolic tangent",
    "softsign": "Softsign",
    "relu": "ReLU",
    "identity": "The identity",
    "step": "The unit step u",
}


def neuron_and_activations() -> Derivation:
    """The neuron, each activation with its derivative, and why the unit step cannot learn.

    >>> doc = neuron_and_activations()
    >>> doc.steps[-1].title
    'Why the unit step cannot be trained'
    """
    net = Network([3, 1], activation="generic")
    z, a = net.symbol("z^2_1"), net.symbol("a^2_1")
    steps = [Step(
        "The neuron",
        "a unit sums its weighted inputs and adds a bias; it fires past the threshold $\\theta = -b$",
        [(z, net.definitions[z]), (a, net.definitions[a])],
    )]
    for name, heading in _ACTIVATION_HEADINGS.items():
        act = ACTIVATIONS[name]
        value = act(_Z)
        # The identity's value is z itself; give it a name to differentiate.
        named = sp.Function("id")(_Z) if value == _Z else value
        written = value.rewrite(sp.exp).rewrite(sp.Abs).rewrite(sp.Max)
        rows = [(named, written if written != value or named != value else value.rewrite(sp.Piecewise))]
        rows.append((sp.Derivative(named, _Z), act.derivative(_Z)))
        steps.append(Step(
            heading,
            "the activation and its derivative, written in terms of the output where the book does",
            rows,
        ))
    step = ACTIVATIONS["step"]
    try:
        step.require_trainable()
        reason = "the unit step can be trained"
    except NotDifferentiableError as exc:
        reason = str(exc)
    stepped = Network([1, 1], activation="step")
    route = delta_route(stepped)
    w, d = stepped.symbol("w^2_11"), stepped.symbol("delta^2_1")
    steps.append(Step(
        "Why the unit step cannot be trained",
        "its derivative is Dirac's delta function $\\delta(z)$ (not a unit error), and every unit error "
        "through the step carries it",
        [
            (sp.Derivative(sp.Heaviside(_Z), _Z), sp.diff(sp.Heaviside(_Z), _Z)),
            (d, route.deltas[d]),
            (Partial(COST, w), route.gradients[w]),
        ],
        note=reason[0].upper() + reason[1:] + ".",
    ))
    return Derivation(
        "The neuron and its activation functions",
        steps,
        intro="Chapter 1: a unit computes a weighted input $z$ and outputs $a(z)$. Learning needs "
        "$a'(z)$, so each activation comes with its derivative.",
        book_order=True,
    )


def delta_recurrence() -> Derivation:
    """The δ route for any number of layers, in index notation, checked against the engine.

    >>> delta_recurrence().steps[0].title
    'A general layer'
    """
    rules = index_rules()
    l, j = index_form.l, index_form.j
    example = Network([3, 2, 2, 2], activation="generic")
    route = delta_route(example)
    checks = []
    for layer in example.layers[:-1]:
        for i, d in enumerate(layer.unit_errors, start=1):
            derived = instantiate(rules["recurrence"].result, example, l=layer.index, i=i)
            checks.append((d, derived, route.deltas[d]))
    agree = all(prove_equal(derived, engine) for _, derived, engine in checks)
    return Derivation(
        "The δ recurrence for a network of L layers",
        [
            Step(
                "A general layer",
                "layer $l$ has $n_l$ units; the input layer is $l = 1$ and the output layer $l = L$",
                [
                    (index_form.z[l, j], index_form.weighted_input(l, j, index_form.i)),
                    (index_form.a[l, j], index_form.generic_a(index_form.z[l, j])),
                    (COST, index_form.squared_cost()),
                ],
            ),
            Step("Unit error", "the derivative of the cost by a weighted input gets a name",
                 [(rules["definition"].lhs, rules["definition"].chain)]),
            Step(
                "Weights and biases",
                "$w^l_{ji}$ and $b^l_j$ reach $C$ only through $z^l_j$; SymPy's Kronecker delta collapses the sum",
                [(rules["weight"].lhs, rules["weight"].chain), (rules["weight"].lhs, rules["weight"].result),
                 (rules["bias"].lhs, rules["bias"].chain), (rules["bias"].lhs, rules["bias"].result)],
            ),
            Step("Output layer", "$z^L_j$ reaches $C$ only through $a^L_j$",
                 [(rules["output"].lhs, rules["output"].chain), (rules["output"].lhs, rules["output"].result)]),
            Step(
                "The recurrence",
                "$z^l_i$ reaches $C$ through every unit of layer $l+1$; the unit errors are computed "
                "backwards, from $\\delta^L$ down to $\\delta^2$, like a sequence from its last term",
                [(rules["recurrence"].lhs, rules["recurrence"].chain),
                 (rules["recurrence"].lhs, rules["recurrence"].result)],
            ),
            Step(
                "Matrix form",
                "entry $i$ of the product with the transpose is the sum over $j$; ⊙ multiplies entry by entry",
                [(matrix_form().lhs, matrix_form().rhs),
                 (sp.Indexed(sp.IndexedBase("delta^{l}"), index_form.i), matrix_form_entry())],
            ),
            Step(
                "Checked against the engine",
                "the rule instantiated for a 3-2-2-2 network equals the engine's own derivation",
                [(d, derived) for d, derived, _ in checks],
                note=(
                    "Every instance equals the δ the engine derived from the network's equations."
                    if agree else "Some instances differ from the engine's derivation."
                ),
            ),
        ],
        intro="Chapter 4 in index notation, for any number of layers and units. The rules are "
        "derived by SymPy from the equations of one general layer; $a$ is any differentiable activation.",
        book_order=True,
    )


def cross_entropy() -> Derivation:
    """Cross-entropy with a sigmoid output: the derivative of the sigmoid cancels.

    >>> cross_entropy().steps[2].equations[-1][1]
    a^3_1 - t_1
    """
    net = Network([2, 2, 1], cost="cross-entropy")
    squared = Network([2, 2, 1])
    route = delta_route(net)
    a, z = net.symbol("a^3_1"), net.symbol("z^3_1")
    d = net.symbol("delta^3_1")
    report = verify(net, exact=True, numeric=False, finite_differences=False)
    rule = index_form.sigmoid_cross_entropy_rule()
    return Derivation(
        "Cross-entropy with a sigmoid output",
        [
            Step("The cost", "the cross-entropy of one example, for a 2-2-1 sigmoid network",
                 [(COST, net.cost_expression)]),
            Step(
                "The two local derivatives",
                "the cost by the output, and the sigmoid by its weighted input",
                [(Partial(COST, a), local_derivative(net, COST, a)), (Partial(a, z), local_derivative(net, a, z))],
            ),
            Step(
                "The output unit error",
                "their product; over one denominator $a'(z)$ cancels",
                [(d, route.deltas[d]), (d, route.cancelled().deltas[d])],
            ),
            Step(
                "Any number of output units",
                "the same in index notation: $\\partial C/\\partial a^L_j$ times $\\sigma' = a(1 - a)$, derived "
                "from the general cost",
                [(COST, index_form.cross_entropy_cost()), (rule.lhs, rule.chain), (rule.lhs, rule.result)],
            ),
            Step(
                "Compared with the squared error",
                "with the squared error the factor $a'(z) = a(1 - a)$ stays, and learning slows when the sigmoid saturates",
                [(d, delta_route(squared).deltas[squared.symbol("delta^3_1")])],
                note=verdict_sentence(report),
            ),
        ],
        intro="Chapter 3 introduces cross-entropy as an alternative cost. With a sigmoid output its unit "
        "error is simply $a^L_j - t_j$.",
        book_order=True,
    )


def weight_decay() -> Derivation:
    """L2 weight decay: ``C`` gains ``(λ/2) Σ w²``, and the δ route derives ``λ w``.

    >>> doc = weight_decay()
    >>> doc.steps[2].equations[0][1]
    lambda*w^2_11
    """
    from ..numeric.array_form import derive_arrays

    lam = index_form.LAMBDA
    net = Network([2, 2, 1], weight_decay=lam)
    plain = Network([2, 2, 1])
    route, plain_route = delta_route(net), delta_route(plain)
    w, b = net.symbol("w^2_11"), net.symbol("b^2_1")
    rule = index_rules()["decayed weight"]
    unchanged = route.deltas == plain_route.deltas
    exact = verify(Network([2, 2, 1], activation="generic", weight_decay=lam), exact=True)
    numeric = verify(Network([2, 2, 1], weight_decay=sp.Rational(1, 10)))
    arrays = derive_arrays(net)
    cnn = ConvolutionalNetwork((3, 3), 1, (2, 2), pool=(2, 2), outputs=1, weight_decay=lam)
    cnn_route = delta_route(cnn)
    cnn_parameters = [cnn.symbol(name) for name in ("w^F1_11", "b^F_1", "w^O_1111")]
    return Derivation(
        "Weight decay (L2)",
        [
            Step(
                "The cost with weight decay",
                "the error of one example plus (λ/2) times the sum of the squared weights, not the biases; "
                "for a 2-2-1 sigmoid network, then for any network in index notation",
                [(COST, net.cost_expression), (COST, index_form.squared_cost() + index_form.weight_decay_sum())],
            ),
            Step(
                "C uses each weight directly",
                "so $C$ is one more consumer of every weight: the last path is $C$'s own use of the weight, "
                "the single factor ∂C/∂w of its decay term",
                [(Partial(COST, w), sp.Add(*(sp.Mul(*path, evaluate=False)
                                            for path in _paths(net, w)), evaluate=False))],
            ),
            Step(
                "The local derivative",
                "SymPy differentiates the decay term of $C$ by the weight, as it differentiates any equation",
                [(Partial(COST, w), local_derivative(net, COST, w))],
            ),
            Step(
                "Gradients by the δ route",
                "the route sums over the consumers of each weight, $C$ among them; a bias gains nothing",
                [(Partial(COST, p), route.gradients[p]) for p in (w, net.symbol("w^3_12"), b)],
                note=("The unit errors are those of the network without decay: the decay term holds no $a^L$."
                      if unchanged else "The unit errors differ from those without decay."),
            ),
            Step(
                "Any layer, in index notation",
                "the Kronecker deltas of the derivative collapse the sums over layers and units",
                [(rule.lhs, rule.chain), (rule.lhs, rule.result)],
            ),
            Step(
                "The array form",
                "over a batch of m examples C_T = Σ_k C_k holds the decay once per example, so the "
                "matrix gradient gains m λ W^l",
                [(Partial(sp.Symbol("C_T"), arrays.layer(l).W), arrays.gradients[f"W{l}"]) for l in (2, 3)],
            ),
            Step(
                "The convolutional network",
                "its convolution and output layers list the filter weights and the output weights as their "
                "weights, so the same route derives λ w for them (a 3×3 image, one 2×2 filter, 2×2 pooling, "
                "one output); a bias again gains nothing",
                [(Partial(COST, p), cnn_route.gradients[p]) for p in cnn_parameters],
            ),
            Step(
                "Verified",
                "both routes, with the generic activation and a symbolic λ, and with λ = 1/10",
                [],
                note=f"Symbolic λ: {verdict_sentence(exact)} λ = 1/10: {verdict_sentence(numeric)}",
            ),
        ],
        intro="Weight decay adds (λ/2) Σ w² over the weights to the cost of each example, "
        "with λ ≥ 0, so that gradient descent also shrinks every weight. Nothing is added to "
        "the derivation by hand: the cost is one more equation that uses the weights.",
        book_order=True,
    )


def _paths(model: Network, parameter: sp.Symbol) -> list:
    from ..engine.routes import chain_rule_expansion

    return chain_rule_expansion(model, parameter).paths


def softmax_cross_entropy() -> Derivation:
    """A softmax output with the categorical cross-entropy: the engine derives
    ``δ^L_k = a^L_k Σ_j t_j − t_k``, and ``Σ_j t_j = 1`` makes it ``a^L_k − t_k``.

    >>> softmax_cross_entropy().steps[3].equations[-1][1]
    a^3_3 - t_3
    """
    net = Network([2, 2, 3], activation="generic", output="softmax", cost="categorical-cross-entropy")
    route = delta_route(net)
    constrained = route.constrained()
    layer = net.output_layer
    a, z = layer.outputs, layer.units
    report = verify(net, exact=True)
    return Derivation(
        "A softmax output with the categorical cross-entropy",
        [
            Step(
                "The softmax layer",
                "the dense layer's weighted sums, normalized: every output reads every weighted input",
                [(a[0], net.definitions[a[0]]), (a[0], net.definitions[a[0]].rewrite(sp.exp))],
            ),
            Step("The cost", "the categorical cross-entropy of one example, for a 2-2-3 network",
                 [(COST, net.cost_expression)]),
            Step(
                "The local derivatives",
                "the cost by each output, and the softmax's Jacobian $a_j(\\delta_{jk} - a_k)$, written in its outputs",
                [(Partial(COST, a[0]), local_derivative(net, COST, a[0]))]
                + [(Partial(a[j], z[0]), local_derivative(net, a[j], z[0])) for j in range(3)],
            ),
            Step(
                "The output unit errors",
                "$z^L_k$ reaches $C$ through every $a^L_j$: the engine sums the three paths, true for every "
                "$t$; the targets of one example are a distribution (a one-hot class), and with that the sum "
                "of the targets in each $\\delta$ is 1",
                [(d, route.deltas[d]) for d in layer.unit_errors]
                + [(net.target_constraint.lhs, net.target_constraint.rhs)]
                + [(d, constrained.deltas[d]) for d in layer.unit_errors],
                note=verdict_sentence(report),
            ),
        ],
        intro="Beyond the book: a softmax output layer, whose outputs $a^L_j = e^{z^L_j} / \\sum_k e^{z^L_k}$ "
        "are a distribution over the classes, with the cost $C = -\\sum_j t_j \\log(a^L_j)$. Its unit error is "
        "$a^L_j - t_j$, as for the sigmoid with the cross-entropy, once the targets sum to 1.",
    )


def book_network() -> Derivation:
    """The book's 12-3-2 network (4×3-pixel images of 0 and 1), both ways.

    >>> book_network().title
    "The book's 12-3-2 network, both ways"
    """
    doc = network_derivation(Network([12, 3, 2]), "w^2_11")
    doc.title = "The book's 12-3-2 network, both ways"
    doc.intro = (
        "Chapters 3 and 4: 12 inputs (a 4×3-pixel image), 3 hidden and 2 output sigmoid units, squared "
        "error. " + doc.intro
    )
    return doc


#: This module's own topics: file stem → builder.
TOPICS: dict[str, Callable[[], Derivation]] = {
    "neuron-and-activations": neuron_and_activations,
    "backprop-12-3-2": book_network,
    "delta-recurrence": delta_recurrence,
    "cross-entropy": cross_entropy,
    "softmax-cross-entropy": softmax_cross_entropy,
    "weight-decay": weight_decay,
}


def all_documents(
    providers: tuple[str, ...] = PROVIDERS, topics: dict[str, Callable[[], Derivation]] | None = None
) -> dict[str, Derivation]:
    """Every document: ``topics`` (default: this module's), then each provider's.

    A provider module that does not exist contributes nothing; one that
    exists but fails to import raises, as it should.

    >>> sorted(TOPICS)
    ['backprop-12-3-2', 'cross-entropy', 'delta-recurrence', 'neuron-and-activations', 'softmax-cross-entropy', 'weight-decay']
    >>> sorted(all_documents(providers=("symbackprop.no_such_module",), topics={"cross-entropy": cross_entropy}))
    ['cross-entropy']
    """
    documents = {stem: build() for stem, build in (TOPICS if topics is None else topics).items()}
    for name in providers:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        provide = getattr(module, "documents", None)
        if provide is None:
            continue
        for stem, doc in provide().items():
            if stem in documents:
                raise ValueError(f"two documents want the name {stem!r} ({name} and another)")
            documents[stem] = doc
    return documents


def render_documents(documents: dict[str, Derivation]) -> dict[str, str]:
    """File name → contents: ``stem.md`` and ``stem.tex`` per document, and an index.

    >>> files = render_documents({"x": Derivation("X", [])})
    >>> sorted(files)
    ['README.md', 'x.md', 'x.tex']
    """
    files = {}
    index = [
        "# Derivations",
        "",
        "Generated by `symbackprop derivations --out derivations/`; do not edit by hand.",
        "Each topic is here as Markdown (to read) and as a standalone LaTeX document (`pdflatex`).",
        "",
    ]
    for stem, doc in documents.items():
        files[f"{stem}.md"] = doc.markdown()
        files[f"{stem}.tex"] = doc.latex_document()
        index.append(f"- [{doc.title}]({stem}.md) ([LaTeX]({stem}.tex))")
    files["README.md"] = "\n".join(index) + "\n"
    return files


def write_documents(out: str | Path, providers: tuple[str, ...] = PROVIDERS) -> list[Path]:
    """Regenerate every document into the folder ``out``; returns the files written.

    The folder is made if it does not exist; one that exists must be empty
    or hold documents written here before (their index says so), so that a
    wrong folder never has its files replaced.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     names = sorted(p.name for p in write_documents(out, providers=()))
    >>> names[:3]
    ['README.md', 'backprop-12-3-2.md', 'backprop-12-3-2.tex']
    >>> write_documents("")
    Traceback (most recent call last):
    ...
    symbackprop.errors.OutputPathError: the folder name is empty; give a folder for the documents, such as derivations
    """
    folder = check_documents_folder(out)
    files = render_documents(all_documents(providers))
    folder.mkdir(exist_ok=True)
    paths = [check_output_path(folder / name, None, "", name, OutputPathError) for name in files]
    for path, text in zip(paths, files.values()):
        write_text(path, text)
    return paths


#: The line of the index that marks a folder of documents written by :func:`write_documents`.
_GENERATED = "Generated by `symbackprop derivations"


def check_documents_folder(out: str | os.PathLike) -> Path:
    """``out`` if :func:`write_documents` may write there: a new folder in an
    existing one, an empty folder, or a folder of documents written before.

    >>> check_documents_folder("no/such/folder")
    Traceback (most recent call last):
    ...
    symbackprop.errors.OutputPathError: no/such/folder: the folder no/such does not exist
    """
    if not os.fspath(out):  # Path("") would be ".": the current folder
        raise OutputPathError("the folder name is empty; give a folder for the documents, such as derivations")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(
            f"{folder}: is a file, not a folder; give a folder for the documents (it is made if it does not exist)"
        )
    if not folder.exists():
        if not folder.parent.is_dir():
            raise OutputPathError(f"{folder}: the folder {folder.parent} does not exist")
        return folder
    index = folder / "README.md"
    if any(folder.iterdir()) and not (index.is_file() and _GENERATED in _start_of(index)):
        raise OutputPathError(
            f"{folder}: holds other files, not documents written by 'symbackprop derivations'; "
            "give a new or empty folder, or the folder written before"
        )
    return folder


def _start_of(path: Path) -> str:
    """The first lines of a file, enough to find :data:`_GENERATED`."""
    with path.open("rb") as stream:
        return stream.read(1024).decode("utf-8", errors="replace")
