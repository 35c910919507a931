"""Chapter 5 as a document: backpropagation through the book's CNN, step by step.

Every formula is the engine's (derived by :func:`~symbackprop.engine.routes.delta_route`
from the layers' local equations) and is compared with the book's own in the
text; the filter gradient is shown to be a correlation of the input with the
map of unit errors. The same chapter with average pooling in place of max
pooling is a second document.
"""

from __future__ import annotations

import sympy as sp

from ..engine.cnn import ConvolutionalNetwork, book_gradients, book_unit_errors
from ..engine.routes import delta_route
from ..layers.pooling import winner
from ..notation.latex import SYMBOL_LATEX
from ..notation.symbols import COST, Partial
from .derivation import Derivation, Step


class Correlation(sp.Expr):
    """``X ⋆ K``: the valid correlation of a matrix with a smaller one (no flip),
    ``(X ⋆ K)_{uv} = Σ_{ij} K_{ij} X_{i+u−1, j+v−1}``; :meth:`doit` computes it.

    >>> X = sp.Matrix(3, 3, sp.symbols("x1:10"))
    >>> K = sp.Matrix(2, 2, sp.symbols("k1:5"))
    >>> Correlation(X, K).doit()[0, 0]
    k1*x1 + k2*x2 + k3*x4 + k4*x5
    """

    def __new__(cls, image, kernel):
        return sp.Expr.__new__(cls, sp.ImmutableMatrix(image), sp.ImmutableMatrix(kernel))

    def doit(self, **hints):
        X, K = self.args
        rows, cols = X.rows - K.rows + 1, X.cols - K.cols + 1
        return sp.ImmutableMatrix(rows, cols, lambda u, v: sp.Add(*(
            K[i, j] * X[i + u, j + v] for i in range(K.rows) for j in range(K.cols)
        )))

    def _latex(self, printer) -> str:
        return r"%s \star %s" % (printer._print(self.args[0]), printer._print(self.args[1]))

    def _sympystr(self, printer) -> str:
        return "%s ⋆ %s" % (printer._print(self.args[0]), printer._print(self.args[1]))

def _same(left: sp.Expr, right: sp.Expr) -> bool:
    return sp.expand(left - right) == 0

def _derivation(model: ConvolutionalNetwork) -> Derivation:
    route = delta_route(model)
    conv, pool, out = model.convolution, model.pooling, model.output
    book_d, book_g = book_unit_errors(model), book_gradients(model)
    z11, a11 = conv.z[0][0][0], conv.a[0][0][0]
    zP, aP = pool.z[0][0][0], pool.a[0][0][0]
    dO = sp.Symbol("delta" + out.z[0].name[1:])
    dF = sp.Symbol("delta" + z11.name[1:])
    w11, b1, wO = conv.w[0][0][0][0], conv.b[0], out.w[0][0][0][0]
    block = pool.blocks[0][0][0]
    C = COST
    rows, cols = conv.map_shape
    fh, fw = model.filter_size
    delta_map = sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol("delta" + conv.z[0][i][j].name[1:]))
    correlation = Correlation(sp.ImmutableMatrix(model.image), delta_map)
    gradient = sp.ImmutableMatrix(fh, fw, lambda u, v: route.gradients[conv.w[0][0][u][v]])
    # The gradient matrix by its name: a matrix of fractions would crowd its rows.
    filter_matrix = sp.Symbol("W^F1")
    SYMBOL_LATEX[filter_matrix.name] = r"W^{F_{1}}"
    is_correlation = all(_same(a, b) for a, b in zip(correlation.doit(), gradient))
    last = conv.w[0][0][fh - 1][fw - 1]

    def matches(derived: sp.Expr, book: sp.Expr, what: str, formula: str = "the book's formula") -> str:
        verdict = "is" if _same(derived, book) else "is NOT"
        return f"The derived {what} {verdict} {formula} (their difference expands to 0)."

    partials = [(Partial(zP, x), pool.equations[zP].diff(x)) for x in block]
    if pool.kind == "max":
        pooling = Step("Max pooling", "each pooled value is the largest output of its block, and $a^P = z^P$",
                       [(zP, model.definitions[zP]), (aP, model.definitions[aP])])
        derivative = Step("Derivative of Max", "the indicator of the block's winner, the position of its first "
                          "largest input in row-major order: beaten strictly by no earlier input and by no later "
                          "one, so at a tie exactly one input gets 1 and the indicators sum to 1",
                          [(sp.Function("winner")(*block), winner(1, *block).definition()), *partials])
        reach, formula = "and only if it won its block", "the book's formula"
    else:
        ph, pw = model.pool
        pooling = Step("Average pooling", "each pooled value is the mean of its block's outputs, and "
                       "$a^P = z^P$", [(zP, model.definitions[zP]), (aP, model.definitions[aP])])
        derivative = Step("Derivative of the mean", f"every input of a block counts alike: each partial "
                          f"derivative is $1/(p_h p_w) = 1/{ph * pw}$, whatever the values", partials)
        reach = f"and every input of a block takes an equal share, 1/{ph * pw}, of its error"
        formula = "the book's formula with this share in place of the winner's indicator"
    steps = [
        Step("Convolution", "each filter slides over the image without being flipped: a correlation, "
             "stride 1, no padding",
             [(z11, model.definitions[z11]), (a11, model.definitions[a11])]),
        pooling,
        Step("Output layer", "every output unit is connected to every pooled value",
             [(out.z[0], model.definitions[out.z[0]]), (out.a[0], model.definitions[out.a[0]])]),
        Step("Cost", "the squared error of one image", [(C, model.cost_expression)]),
        derivative,
        Step("Output unit error", "the unit error of an output unit, derived by the engine from the "
             "local equations",
             [(dO, route.deltas[dO])], note=matches(route.deltas[dO], book_d[dO], "unit error")),
        Step("Convolution unit error", f"the error reaches a feature-map unit only through its pooled value, {reach}",
             [(dF, route.deltas[dF])], note=matches(route.deltas[dF], book_d[dF], "unit error", formula)),
        Step("Filter weight and bias gradients", "each filter weight is used at every position of the "
             "feature map, so its gradient sums the unit errors of the whole map",
             [(Partial(C, w11), route.gradients[w11]), (Partial(C, b1), route.gradients[b1])],
             note=matches(route.gradients[w11], book_g[w11], "gradient")),
        Step("The filter gradient is a correlation",
             f"of the input image with the map of unit errors ($\\partial C/\\partial W^{{F_1}}$ is the "
             f"{fh}×{fw} matrix of the $\\partial C/\\partial w^{{F_1}}_{{uv}}$): the same sliding sum as the "
             "forward pass, with the δ map in place of the filter",
             [(Partial(C, filter_matrix), correlation), (Partial(C, last), correlation.doit()[fh - 1, fw - 1])],
             note="Every entry of the correlation is the engine's gradient: "
             f"{'yes' if is_correlation else 'NO'}, for all {fh * fw} weights of filter 1."),
        Step("Output weight gradients", "an output weight multiplies one pooled value",
             [(Partial(C, wO), route.gradients[wO]), (Partial(C, out.b[0]), route.gradients[out.b[0]])],
             note=matches(route.gradients[wO], book_g[wO], "gradient")),
    ]
    return Derivation(
        f"Backpropagation through the {model.describe()} network",
        steps,
        intro=("The book's chapter 5" if pool.kind == "max" else "The book's chapter 5 with average pooling "
               "in place of its max pooling")
        + ". The unit errors are derived by the same engine as for the fully connected network, from the "
        f"local equations of a convolution, {'an' if pool.kind[0] in 'aeiou' else 'a'} {pool.kind}-pooling "
        "and an output layer; "
        f"`symbackprop verify --cnn{'' if pool.kind == 'max' else ' --pooling ' + pool.kind} --exact` proves "
        "that they give the direct derivative.",
        book_order=True,
    )

def documents() -> dict[str, Derivation]:
    """The chapter-5 derivations, by file stem: the book's network (sigmoid),
    and the same network with average pooling.

    >>> docs = documents()
    >>> len(docs["cnn"].steps) >= 8, docs["cnn-average-pooling"].steps[1].title
    (True, 'Average pooling')
    """
    return {
        "cnn": _derivation(ConvolutionalNetwork()),
        "cnn-average-pooling": _derivation(ConvolutionalNetwork(pooling="average")),
    }
