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
        # a Symbol names a matrix shown elsewhere: the correlation is then only written
        def matrix(m):
            return m if isinstance(m, sp.Symbol) else sp.ImmutableMatrix(m)

        return sp.Expr.__new__(cls, matrix(image), matrix(kernel))

    def doit(self, **hints):
        X, K = self.args
        if not (X.is_Matrix and K.is_Matrix):
            return self
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

def cnn_derivation(model: ConvolutionalNetwork) -> Derivation:
    """Chapter 5 for ``model``: the δ route's unit errors and gradients proved
    equal to the book's formulas.

    >>> cnn_derivation(ConvolutionalNetwork((3, 3), 1, 2, pool=2, outputs=1)).title.startswith("Backpropagation")
    True
    """
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

#: The network of the stride-and-padding document: two channels of 5×5, two 3×3
#: filters moved by 2 over one ring of zeros (3×3 maps, windows overlapping),
#: 3×3 max pooling, one output; the input a layer of units so that δ reaches it.
STRIDED = dict(image=(5, 5), filters=2, filter_size=(3, 3), pool=(3, 3), outputs=1, activation="generic",
               channels=2, stride=2, padding=1, input_errors=True)


def _named(name: str, latex: str) -> sp.Symbol:
    symbol = sp.Symbol(name)
    SYMBOL_LATEX[name] = latex
    return symbol


def strided_claims(model: ConvolutionalNetwork) -> tuple[dict, dict]:
    """The two results people ask about, written here as *claims* in index form
    (not derived), to be checked against the engine's δ route:
    the filter gradient ``∂C/∂w^{F_k}_{c,uv} = Σ_{ij} δ^F_{k,ij} x_{c, s(i−1)+u−p, s(j−1)+v−p}``
    (0 outside the image), and the input's unit errors
    ``δ^I_c = Σ_k D̃^{F_k} ⋆ rot180(W^{F_k}_c)``: the δ map dilated by the stride and framed
    by ``f − 1 − p`` zeros, correlated with the flipped filter — its full convolution, cropped by
    the padding. Returns ``(filter gradients by weight, for each channel the
    Correlation of each filter, whose sum is the channel's δ map)``.

    >>> net = ConvolutionalNetwork((4, 4), 1, 2, pool=3, outputs=1, stride=2, padding=1, input_errors=True)
    >>> gradients, maps = strided_claims(net)
    >>> gradients[net.symbol("w^F1_11")]
    delta^F_122*x_22 + delta^F_123*x_24 + delta^F_132*x_42 + delta^F_133*x_44
    >>> maps[0][0].doit()[0, 0]
    delta^F_111*w^F1_22
    """
    conv, (sh, sw), (ph, pw), (fh, fw) = model.convolution, model.stride, model.padding, model.filter_size
    rows, cols = conv.map_shape
    H, W = model.image_shape
    deltas = [[[sp.Symbol("delta" + z.name[1:]) for z in row] for row in zmap] for zmap in conv.z]
    gradients = {
        w: sp.Add(*(deltas[k][i][j] * model.maps[c][sh * i + u - ph][sw * j + v - pw]
                    for i in range(rows) for j in range(cols)
                    if 0 <= sh * i + u - ph < H and 0 <= sw * j + v - pw < W))
        for k, filt in enumerate(conv.w) for c, channel in enumerate(filt)
        for u, wrow in enumerate(channel) for v, w in enumerate(wrow)
    }
    frame_h, frame_w = fh - 1 - ph, fw - 1 - pw

    def dilated(k: int) -> sp.ImmutableMatrix:
        def entry(y: int, x: int) -> sp.Expr:
            y, x = y - frame_h, x - frame_w
            if y % sh or x % sw or not (0 <= y // sh < rows and 0 <= x // sw < cols):
                return sp.S.Zero
            return deltas[k][y // sh][x // sw]

        return sp.ImmutableMatrix((rows - 1) * sh + 1 + 2 * frame_h, (cols - 1) * sw + 1 + 2 * frame_w, entry)

    def flipped(k: int, c: int) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix(fh, fw, lambda u, v: conv.w[k][c][fh - 1 - u][fw - 1 - v])

    maps = [[Correlation(dilated(k), flipped(k, c)) for k in range(model.filters)] for c in range(model.channels)]
    return gradients, maps


def _full_sum(terms: list[Correlation]) -> sp.Matrix:
    return sum((t.doit() for t in terms[1:]), terms[0].doit().as_mutable())


def strided_derivation(model: ConvolutionalNetwork | None = None) -> Derivation:
    """Convolution with channels, stride and padding: the engine's filter gradient
    proved to be the correlation of the input with δ, and the engine's δ of the
    input proved to be the full convolution of δ with the flipped filter.

    >>> doc = strided_derivation()
    >>> [step.title for step in doc.steps][-2:]
    ['The filter gradient is a correlation of the input with δ', 'The δ of the input is a full convolution']
    """
    model = model or ConvolutionalNetwork(**STRIDED)
    route = delta_route(model)
    conv, pool, out, inputs = model.convolution, model.pooling, model.output, model.input_maps
    C = COST
    (H, W), (fh, fw), (sh, sw), (ph, pw) = model.image_shape, model.filter_size, model.stride, model.padding
    rows, cols = conv.map_shape
    gradients, maps = strided_claims(model)
    input_ok = all(
        _same(route.deltas[sp.Symbol("delta" + inputs.z[c][i][j].name[1:])], full[i, j])
        for c, claim in enumerate(maps) for full in [_full_sum(claim)] for i in range(H) for j in range(W)
    )
    corner, middle = conv.z[0][0][0], conv.z[0][1][1]
    w_corner, w_middle = conv.w[0][0][0][0], conv.w[0][1][1][1]
    # pixel (1,1) meets one tap of each filter, pixel (2,2) four: the windows overlap there
    d_corner, d_middle = (sp.Symbol("delta" + inputs.z[0][i][j].name[1:]) for i, j in ((0, 0), (1, 1)))
    dF = sp.Symbol("delta" + corner.name[1:])
    frame = fh - 1 - ph
    # each term of channel 1's sum, D̃^{F_k} ⋆ rot180(W^{F_k}_1), shown by name; filter 1's in full
    terms = maps[0]
    dilated = [_named(f"Dtilde^F{k}", rf"\tilde D^{{F_{k}}}") for k in range(1, model.filters + 1)]
    turned = [_named(f"rot180(W^F{k}_1)", rf"\operatorname{{rot}}_{{180}}\left(W^{{F_{k}}}_{{1}}\right)")
              for k in range(1, model.filters + 1)]
    named_claim = sp.Add(*(Correlation(d, t) for d, t in zip(dilated, turned)), evaluate=False)
    to_x = {inputs.a[c][i][j]: model.maps[c][i][j] for c in range(model.channels) for i in range(H) for j in range(W)}
    filter_ok = all(_same(route.gradients[w].xreplace(to_x), claim) for w, claim in gradients.items())
    steps = [
        Step("Convolution with channels, stride and padding",
             f"filter $k$ has one {fh}×{fw} slice $w^{{F_k}}_{{c,uv}}$ per input channel $c$ and moves by "
             f"$s = {sh}$; the image is framed by $p = {ph}$ ring of zeros, so a padded position "
             rf"contributes no term: $z^F_{{k,ij}} = \sum_c \sum_{{u,v}} w^{{F_k}}_{{c,uv}} "
             rf"x_{{c,\,s(i-1)+u-p,\,s(j-1)+v-p}} + b^F_k$. The map has "
             rf"$\lfloor (n + 2p - f)/s \rfloor + 1 = ({H} + {2 * ph} - {fh})/{sh} + 1 = {rows}$ rows; "
             "a stride that does not divide $n + 2p - f$ is refused, not cropped",
             [(corner, model.definitions[corner]), (middle, model.definitions[middle]),
              (conv.a[0][0][0], model.definitions[conv.a[0][0][0]])]),
        Step("The input as a layer of units",
             "so that the δ route carries the error back to the pixels: $z^I = x$, $a^I = z^I$, and "
             r"$\delta^I_{c,ij} = \partial C/\partial x_{c,ij}$",
             [(inputs.z[0][0][0], model.definitions[inputs.z[0][0][0]]),
              (inputs.a[0][0][0], model.definitions[inputs.a[0][0][0]])]),
        Step("Pooling and output",
             "the book's max pooling over each whole map, and one output unit",
             [(pool.z[0][0][0], model.definitions[pool.z[0][0][0]]), (out.z[0], model.definitions[out.z[0]])]),
        Step("Feature-map unit error", "derived by the engine from the local equations",
             [(dF, route.deltas[dF])]),
        Step("The filter gradient is a correlation of the input with δ",
             rf"the engine's gradients, and the claim $\partial C/\partial w^{{F_k}}_{{c,uv}} = "
             rf"\sum_{{i,j}} \delta^F_{{k,ij}}\, x_{{c,\,{sh}(i-1)+u-{ph},\,{sw}(j-1)+v-{pw}}}$ "
             "(a padded $x$ is 0), the input correlated with the δ map with the stride as its step; the "
             "engine's gradients read $a^I$, written here as the $x$ they equal",
             [(Partial(C, w_corner), route.gradients[w_corner].xreplace(to_x)),
              (Partial(C, w_middle), route.gradients[w_middle].xreplace(to_x)),
              (Partial(C, conv.b[0]), route.gradients[conv.b[0]])],
             note=f"The claim equals the engine's gradient (their difference expands to 0): "
             f"{'yes' if filter_ok else 'NO'}, for all {len(gradients)} filter weights."),
        Step("The δ of the input is a full convolution",
             f"the engine's unit errors of the input, and the claim: dilate each δ map by the stride "
             f"($s - 1$ zeros between neighbours), frame it with $f - 1 - p = {frame}$ ring of zeros "
             rf"($\tilde D^{{F_k}}$), and correlate it with the filter turned by 180° — the full "
             f"convolution of δ with the flipped filter, cropped by the padding",
             [(d_corner, route.deltas[d_corner]), (d_middle, route.deltas[d_middle]),
              (dilated[0], terms[0].args[0]), (turned[0], terms[0].args[1]),
              (_named("delta^I_1", r"\delta^{I}_{1}"), named_claim),
              (d_middle, _full_sum(maps[0])[1, 1])],
             note=f"Every entry of the full convolution is the engine's unit error of its pixel "
             f"(their difference expands to 0): {'yes' if input_ok else 'NO'}, for all "
             f"{model.channels * H * W} pixels of the {model.channels} channels."),
    ]
    return Derivation(
        f"Convolution with stride and padding: the {model.describe()} network",
        steps,
        intro="The book's convolution extended to several input channels, a stride and zero padding. "
        "The gradients and unit errors below are the engine's, derived from the layers' local equations; "
        "the two results people ask about are written as claims and proved equal to them exactly. "
        "The activation is the generic $a(z)$, so the proof holds for every activation; "
        "`symbackprop verify --cnn 5x5,2,3x3,3x3,1 --channels 2 --stride 2 --padding 1 --exact` "
        "proves the δ route equal to the direct derivative.",
        book_order=True,
    )


def documents() -> dict[str, Derivation]:
    """The chapter-5 derivations, by file stem: the book's network (sigmoid),
    the same network with average pooling, and convolution with channels,
    stride and padding.

    >>> docs = documents()
    >>> len(docs["cnn"].steps) >= 8, docs["cnn-average-pooling"].steps[1].title
    (True, 'Average pooling')
    """
    return {
        "cnn": cnn_derivation(ConvolutionalNetwork()),
        "cnn-average-pooling": cnn_derivation(ConvolutionalNetwork(pooling="average")),
        "cnn-stride-padding": strided_derivation(),
    }
