"""The chapter-5 CNN in NumPy array operations, for training.

The kernels are the book's formulas that :mod:`symbackprop.engine.cnn` derives, one
array operation each (no Python loop over pixels): the convolution is a
matrix product over the windows of the zero-padded images taken at every
``s``-th position, gathered by one precomputed index (im2col) with a
constant 1 beside them that the bias multiplies, pooling a reshape and an
``argmax`` (the *first* maximum wins a tie, the convention of
:class:`symbackprop.layers.pooling.winner`) or a mean (average pooling), and the filter gradient the same sliding
sum with the δ map in place of the filter; the error sent back to the input
(:meth:`CNNArrays.input_deltas`) is the full convolution of the stride-dilated δ
map with the flipped filter. The activation, its derivative
and the cost's derivative are compiled from the symbolic network's own
expressions; :func:`check_against_symbolic` compares everything with the
δ route compiled scalar by scalar.

It implements the trainer's interface (:mod:`symbackprop.numeric.train`), with the
parameter names of the book's ``book_cnn_init.json``:

>>> model = CNNArrays()
>>> dict(model.parameter_shapes)
{'filters': (3, 3, 3), 'filter_bias': (3,), 'out_W': (3, 3, 2, 2), 'out_b': (3,)}
>>> data = book_digits()
>>> params = book_initial_params()
>>> round(model.cost_and_gradient(params, data.X, data.T)[0], 10)
12.5444623703
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from numpy.lib.stride_tricks import sliding_window_view

from ..engine.cnn import ConvolutionalNetwork
from ..errors import ArgumentError, DataError, UnknownNameError
from ..functions.activations import activation_kernels, numpy_function
from .datasets import Dataset, data_path, load_image_file, pixels
from .params import read_param_file

Params = dict[str, np.ndarray]


class CNNArrays:
    """The CNN of :class:`~symbackprop.engine.cnn.ConvolutionalNetwork` with the same
    arguments, computed on whole batches of images ``X`` of shape
    ``(n, rows, columns)``.

    >>> CNNArrays(image=(8, 8), filters=4, pool=3).parameter_shapes["out_W"]
    (3, 4, 2, 2)
    >>> CNNArrays(pooling="average").describe()
    '6x6-input, 3-filter 3x3, 2x2 average-pool, 3-output convolutional'

    With ``channels`` C > 1 the images are ``(n, C, rows, columns)`` and the
    filters ``(K, C, fh, fw)``; ``stride`` and ``padding`` are the convolution's:

    >>> m = CNNArrays((8, 8), 2, 4, pool=2, outputs=2, channels=3, stride=2, padding=1)
    >>> m.map_shape, m.parameter_shapes["filters"], m.parameter_shapes["out_W"]
    ((4, 4), (2, 3, 4, 4), (2, 2, 2, 2))

    ``weight_decay`` λ puts ``(λ/2) Σ w²`` over the filter and output weights in
    each image's cost, as the dense array path does: a batch of ``m`` images
    adds ``m (λ/2) Σ w²`` to ``C_T`` and ``m λ w`` to each weight's gradient.

    >>> CNNArrays(weight_decay="1/100").weight_decay
    0.01
    """

    def __init__(self, image=(6, 6), filters=3, filter_size=(3, 3), pool=(2, 2), outputs=3,
                 activation="sigmoid", cost="squared", pooling="max", *, channels=1, stride=1,
                 padding=0, weight_decay=0) -> None:
        # The symbolic network validates the shapes and λ and supplies a(z), a'(z), C.
        net = ConvolutionalNetwork(image, filters, filter_size, pool, outputs, activation, cost, pooling,
                                   channels=channels, stride=stride, padding=padding, weight_decay=weight_decay)
        if net.weight_decay.free_symbols:
            raise ArgumentError(
                f"the weight decay λ = {net.weight_decay} is a symbol; give it a number to compute gradients"
            )
        self.network = net
        self.weight_decay = float(net.weight_decay)
        act = net.activation
        # a'(z) as the activation writes it, in its output where it can (σ' = a(1 − a))
        self._a, self._slope = activation_kernels(act)
        a, t = sp.symbols("a t")
        term = net.cost.term(a, t)
        self._cost = numpy_function(act, term, (a, t))
        self._dcost = numpy_function(act, sp.diff(term, a), (a, t))
        # what the trainer checks a batch against: one channel keeps the book's (rows, columns)
        self.input_shape = net.image_shape if net.channels == 1 else (net.channels, *net.image_shape)
        self.output_size = outputs
        self.output_bounds = act.bounds
        self.filter_size, self.pool, self.pooling = net.filter_size, net.pool, net.pooling.kind
        self.channels, self.stride, self.padding = net.channels, net.stride, net.padding
        rows, cols = net.convolution.map_shape
        self.map_shape = (rows, cols)
        R, Q = net.pooling.pooled_shape
        self.parameter_shapes = {
            # one channel keeps the book's (K, fh, fw)
            "filters": (filters, *(() if net.channels == 1 else (net.channels,)), *net.filter_size),
            "filter_bias": (filters,),
            "out_W": (outputs, filters, R, Q),
            "out_b": (outputs,),
        }
        # im2col as one gather: window (i, j) of an image flattened after zero padding, channel-major
        # like the filters, x_{c, s(i−1)+u−p, s(j−1)+v−p}, then the trailing constant 1 that b^F_k multiplies
        (h, w), (sh, sw), (qh, qw), (fh, fw) = net.image_shape, net.stride, net.padding, net.filter_size
        self._padded_shape = (net.channels, h + 2 * qh, w + 2 * qw)
        c, i, j, u, v = np.ix_(range(net.channels), range(rows), range(cols), range(fh), range(fw))
        index = (c * self._padded_shape[1] + sh * i + u) * self._padded_shape[2] + sw * j + v
        size = int(np.prod(self._padded_shape))
        self._window_index = np.concatenate(
            [index.transpose(1, 2, 0, 3, 4).reshape(rows * cols, -1), np.full((rows * cols, 1), size)], axis=1)

    def describe(self) -> str:
        """E.g. ``6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional``, followed by "network" in messages."""
        return self.network.describe()

    def _images(self, X) -> np.ndarray:
        """The batch as ``(n, C, rows, columns)``; one channel may leave out its axis."""
        X = np.asarray(X, dtype=float)
        (h, w), C = self.network.image_shape, self.channels
        if C == 1 and X.ndim == 3 and X.shape[1:] == (h, w):
            return X[:, None]
        if X.ndim != 4 or X.shape[1:] != (C, h, w) or not len(X):
            wanted = f"(n, {h}, {w}): n images of {h}x{w} pixels" if C == 1 else (
                f"(n, {C}, {h}, {w}): n images of {C} channels of {h}x{w} pixels")
            raise DataError(f"images have shape {X.shape}; this {self.describe()} network reads {wanted}")
        return X

    def forward(self, params: Params, X) -> dict[str, np.ndarray]:
        """Every layer quantity for a batch: ``zF, aF`` (n, K, rows, cols),
        ``aP`` and, with max pooling, the winner's position in its block ``win``
        (n, K, R, Q), ``zO, aO`` (n, N).

        >>> f = CNNArrays().forward(book_initial_params(), book_digits().X[:2])
        >>> f["aF"].shape, f["aP"].shape, f["aO"].shape
        ((2, 3, 4, 4), (2, 3, 2, 2), (2, 3))
        """
        X = self._images(X)
        F, fb, W, b = (params[k] for k in ("filters", "filter_bias", "out_W", "out_b"))
        n, (rows, cols), K = len(X), self.map_shape, len(F)
        (h, w), (qh, qw), size = self.network.image_shape, self.padding, self._window_index[0, -1]
        # each image flattened, zero-padded (the padded positions are zeros), and a 1 for the bias
        flat = (np.zeros if qh or qw else np.empty)((n, size + 1))
        flat[:, size] = 1.0
        flat[:, :size].reshape(n, *self._padded_shape)[:, :, qh:qh + h, qw:qw + w] = X
        windows = flat.take(self._window_index, axis=1).reshape(n * rows * cols, -1)  # im2col, and the 1
        # z^F_{k,ij} = Σ_{c,u,v} w^{F_k}_{c,uv} x_{c, s(i−1)+u−p, s(j−1)+v−p} + b^F_k · 1
        zF = windows @ np.concatenate([F.reshape(K, -1), fb[:, None]], axis=1).T  # (n·rows·cols, K)
        aF = self._a(zF)
        ph, pw = self.pool
        R, Q = rows // ph, cols // pw
        blocks = aF.reshape(n, R, ph, Q, pw, K).transpose(0, 5, 1, 3, 2, 4).reshape(n, K, R, Q, ph * pw)
        if self.pooling == "max":
            win = blocks.argmax(axis=-1)  # the first maximum: winner()'s tie rule
            # each winner's place in the flattened blocks, to read a^P and to route δ back by one index
            at = win.ravel() + np.arange(0, blocks.size, ph * pw)
            pooled = {"win": win, "aP": blocks.take(at).reshape(win.shape), "_at": at}
        else:
            pooled = {"aP": blocks.mean(axis=-1)}
        aP = pooled["aP"]
        zO = aP.reshape(n, -1) @ W.reshape(len(W), -1).T + b

        def as_maps(m: np.ndarray) -> np.ndarray:
            return m.reshape(n, rows, cols, K).transpose(0, 3, 1, 2)

        return {"windows": windows, "zF": as_maps(zF), "aF": as_maps(aF), **pooled,
                "zO": zO, "aO": self._a(zO), "_zF": zF, "_aF": aF}

    def predict(self, params: Params, X) -> np.ndarray:
        """``a^O`` for every image, shape (n, outputs).

        >>> CNNArrays().predict(book_initial_params(), book_digits().X[:4]).shape
        (4, 3)
        """
        return self.forward(params, X)["aO"]

    def deltas(self, params: Params, X, T) -> dict[str, np.ndarray]:
        """The unit errors, as the book writes them:
        ``δ^O_n = ∂C/∂a^O_n a'(z^O_n)``, and ``δ^F_{k,ij}`` = the error
        ``Σ_n δ^O_n w^O_{k,n,i'j'}`` sent back to the block's winner only (max pooling)
        or shared equally, ``1/(ph·pw)`` each, by the block's inputs (average
        pooling), times ``a'(z^F_{k,ij})``.

        >>> d = CNNArrays().deltas(book_initial_params(), book_digits().X[:1], book_digits().T[:1])
        >>> d["dF"].shape, int((d["dF"] != 0).sum())
        ((1, 3, 4, 4), 12)
        """
        f = self.forward(params, X)
        T = np.asarray(T, dtype=float)
        W = params["out_W"]
        dO = self._dcost(f["aO"], T) * self._slope(f["zO"], f["aO"])
        back = (dO @ W.reshape(len(W), -1)).reshape(f["aP"].shape)
        n, K, R, Q = back.shape
        ph, pw = self.pool
        if self.pooling == "max":
            routed = np.zeros((n, K, R, Q, ph * pw))
            routed.reshape(-1)[f["_at"]] = back.reshape(-1)  # [a^F wins its block]
        else:
            routed = np.repeat(back[..., None] / (ph * pw), ph * pw, axis=-1)  # ∂z^P/∂a^F = 1/(ph·pw)
        routed = routed.reshape(n, K, R, Q, ph, pw).transpose(0, 2, 4, 3, 5, 1).reshape(-1, K)
        dF = routed * self._slope(f["_zF"], f["_aF"])  # (n·rows·cols, K)
        rows, cols = self.map_shape
        return {**f, "dO": dO, "dF": dF.reshape(n, rows, cols, K).transpose(0, 3, 1, 2), "_dF": dF,
                "C": float(np.sum(self._cost(f["aO"], T)))}

    def cost_and_gradient(self, params: Params, X, T) -> tuple[float, Params]:
        """``C_T`` and its gradient: ``∂C/∂w^{F_k}_{uv} = Σ_{ij} δ^F_{k,ij} x_{i+u−1,j+v−1}``
        (the input correlated with the δ map), ``∂C/∂b^F_k = Σ δ^F_{k,ij}``,
        ``∂C/∂w^O_{k,n,ij} = δ^O_n a^P_{k,ij}``, ``∂C/∂b^O_n = δ^O_n``, summed over the images;
        with weight decay, ``C_T`` gains ``m (λ/2) Σ w²`` and each weight's gradient ``m λ w``
        for a batch of ``m`` images.

        >>> C, g = CNNArrays().cost_and_gradient(book_initial_params(), book_digits().X, book_digits().T)
        >>> sorted(g) == sorted(CNNArrays().parameter_shapes)
        True
        """
        d = self.deltas(params, X, T)
        dF, dO = d["_dF"], d["dO"]
        # the windows' last column is the bias's constant 1, so its column of the product is Σ δ^F_k
        sums = dF.T @ d["windows"]
        grads = {
            "filters": sums[:, :-1].reshape(params["filters"].shape),
            "filter_bias": sums[:, -1],
            "out_W": (dO.T @ d["aP"].reshape(len(dO), -1)).reshape(params["out_W"].shape),
            "out_b": dO.sum(axis=0),
        }
        C = d["C"]
        if self.weight_decay:
            # each image's C holds (λ/2) Σ w², so the batch's C_T holds it m times
            m = len(dO)
            for name in ("filters", "out_W"):
                C += m * self.weight_decay / 2 * float(np.sum(params[name] ** 2))
                grads[name] = grads[name] + m * self.weight_decay * params[name]
        return C, grads

    def input_deltas(self, params: Params, X, T) -> np.ndarray:
        """``∂C/∂x_{c,ij}`` for every image, the error the convolution sends back to
        what it reads, shaped like the batch: the *full* convolution of the δ
        maps, dilated by the stride (``s − 1`` zeros between neighbours), with
        the *flipped* filters, cropped by the padding:
        ``∂C/∂x_{c,ij} = Σ_k Σ_{u,v} δ̃^F_{k, i+u−1, j+v−1} w^{F_k}_{c, fh+1−u, fw+1−v}``
        where ``δ̃`` is the dilated δ map with ``fh − 1 − p`` (``fw − 1 − p``) zeros around it.

        >>> m = CNNArrays((4, 4), 1, 2, pool=1, outputs=1, stride=2, padding=1)
        >>> p = {k: np.ones(s) for k, s in m.parameter_shapes.items()}
        >>> m.input_deltas(p, np.zeros((1, 4, 4)), np.zeros((1, 1))).shape
        (1, 4, 4)
        """
        d = self.deltas(params, X, T)
        dF = d["dF"]  # (n, K, rows, cols)
        n, K, rows, cols = dF.shape
        (sh, sw), (qh, qw), (fh, fw) = self.stride, self.padding, self.filter_size
        F = params["filters"].reshape(K, self.channels, fh, fw)
        # dilate by the stride, then pad by f − 1 − p: the full convolution, already cropped by p
        dilated = np.zeros((n, K, (rows - 1) * sh + 1, (cols - 1) * sw + 1))
        dilated[:, :, ::sh, ::sw] = dF
        padded = np.pad(dilated, ((0, 0), (0, 0), (fh - 1 - qh,) * 2, (fw - 1 - qw,) * 2))
        view = sliding_window_view(padded, (fh, fw), axis=(2, 3))  # (n, K, H, W, fh, fw)
        grad = np.einsum("nkijuv,kcuv->ncij", view, F[:, :, ::-1, ::-1], optimize=True)
        return grad[:, 0] if np.ndim(X) == 3 else grad

    def symbol_values(self, params: Params) -> dict[sp.Symbol, float]:
        """The parameters keyed by the symbolic network's symbols (``w^F1_12`` …).

        >>> v = CNNArrays().symbol_values(book_initial_params())
        >>> round(v[sp.Symbol("w^F1_12")], 6), round(v[sp.Symbol("w^O_2111")], 6)
        (-0.454172, -3.680379)
        """
        net = self.network
        conv, out = net.convolution, net.output
        values: dict[sp.Symbol, float] = {}
        filters = np.reshape(params["filters"], (len(conv.w), self.channels, *self.filter_size))
        for k, filt in enumerate(conv.w):
            for c, channel in enumerate(filt):
                for u, row in enumerate(channel):
                    for v, w in enumerate(row):
                        values[w] = float(filters[k, c, u, v])
            values[conv.b[k]] = float(params["filter_bias"][k])
        for m, wm in enumerate(out.w):
            for k, wk in enumerate(wm):
                for i, row in enumerate(wk):
                    for j, w in enumerate(row):
                        values[w] = float(params["out_W"][m, k, i, j])
            values[out.b[m]] = float(params["out_b"][m])
        return values


    def arrays_from_symbols(self, values) -> Params:
        """The inverse of :meth:`symbol_values`: arrays from values keyed by symbol.

        >>> m = CNNArrays()
        >>> p = book_initial_params()
        >>> all((m.arrays_from_symbols(m.symbol_values(p))[k] == p[k]).all() for k in p)
        True
        """
        net = self.network
        conv, out = net.convolution, net.output
        arrays = {k: np.zeros(s) for k, s in self.parameter_shapes.items()}
        filters = arrays["filters"].reshape(len(conv.w), self.channels, *self.filter_size)
        for k, c, u, v in np.ndindex(filters.shape):
            filters[k, c, u, v] = values[conv.w[k][c][u][v]]
        for k in range(len(conv.b)):
            arrays["filter_bias"][k] = values[conv.b[k]]
        for m, k, i, j in np.ndindex(arrays["out_W"].shape):
            arrays["out_W"][m, k, i, j] = values[out.w[m][k][i][j]]
        for m in range(len(out.b)):
            arrays["out_b"][m] = values[out.b[m]]
        return arrays


def check_against_symbolic(model: CNNArrays, params: Params, X, T) -> float:
    """The largest relative difference between the array gradient and the δ
    route of the symbolic network compiled scalar by scalar.

    >>> data = book_digits()
    >>> check_against_symbolic(CNNArrays(), book_initial_params(), data.X[:8], data.T[:8]) < 1e-12
    True
    """
    from .scalar import compile_scalar

    X = model._images(X)
    C, grads = model.cost_and_gradient(params, X, T)
    symbolic = compile_scalar(model.network)
    C_s, by_symbol = symbolic(model.symbol_values(params), X.reshape(len(X), -1), np.asarray(T, dtype=float))
    worst = abs(C - C_s) / max(1.0, abs(C_s))
    for name, expected in model.arrays_from_symbols(by_symbol).items():
        worst = max(worst, float(np.max(np.abs(grads[name] - expected) / np.maximum(1.0, np.abs(expected)))))
    return float(worst)


# --- the book's data ------------------------------------------------------------------

def book_digits() -> Dataset:
    """The book's 96 images of 1, 2 and 3 (6×6 pixels, 1 = black) as ``X`` of
    shape (96, 6, 6), with a few unseen variants as the test images.

    >>> data = book_digits()
    >>> data.X.shape, data.T.shape, data.classes, data.test_X.shape
    ((96, 6, 6), (96, 3), (1, 2, 3), (5, 6, 6))
    """
    data = load_image_file(data_path("book_digits123_6x6.json"), "cnn123")
    data.X = data.X.reshape(len(data.X), *data.image_shape)
    data.test_names = tuple(UNSEEN)
    data.test_X = np.array([pixels(rows).reshape(data.image_shape) for rows, _ in UNSEEN.values()])
    data.test_labels = np.array([data.classes.index(label) for _, label in UNSEEN.values()])
    return data


def book_initial_params() -> Params:
    """The book's initial filters, biases and output weights (``book_cnn_init.json``).

    >>> book_initial_params()["filters"].shape
    (3, 3, 3)
    """
    arrays, _ = read_param_file(data_path("book_cnn_init.json"))
    return {k: np.array(v, dtype=float) for k, v in arrays.items()}


def book_eta() -> float:
    """The book's learning rate for the CNN.

    >>> book_eta()
    0.2
    """
    return float(read_param_file(data_path("book_cnn_init.json"))[1]["eta"])


#: Variants the network never saw in training, to show its predictions on.
UNSEEN = {
    "a 1 at the left edge": (["100000", "100000", "100000", "100000", "100000", "100000"], 1),
    "a 1 with a long foot": (["000100", "001100", "000100", "000100", "000100", "011111"], 1),
    "a 2 with a flat top": (["111110", "000010", "000010", "011100", "100000", "111111"], 2),
    "a 3 shifted left": (["111000", "000100", "011000", "000100", "000100", "111000"], 3),
    "a 3 with a round top": (["011100", "100010", "000100", "000010", "100010", "011100"], 3),
}


class CNNScalar(CNNArrays):
    """The same CNN on the *scalar* path: the δ route compiled expression by
    expression (one per parameter, like the book's spreadsheet).

    >>> data = book_digits()
    >>> C, g = CNNScalar().cost_and_gradient(book_initial_params(), data.X, data.T)
    >>> round(C, 10), g["out_W"].shape
    (12.5444623703, (3, 3, 2, 2))
    """

    def __init__(self, *args, **kwargs) -> None:
        import time

        from .scalar import compile_scalar

        super().__init__(*args, **kwargs)
        start = time.perf_counter()
        self._compiled = compile_scalar(self.network)
        self.compile_seconds = time.perf_counter() - start

    def cost_and_gradient(self, params: Params, X, T) -> tuple[float, Params]:
        X = self._images(X)
        C, by_symbol = self._compiled(self.symbol_values(params), X.reshape(len(X), -1), T)
        return C, self.arrays_from_symbols(by_symbol)


def cnn_model(path: str = "array", pooling: str = "max", stride: int = 1, padding: int = 0,
              weight_decay: object = 0) -> CNNArrays:
    """The book's CNN for the trainer, on the ``array`` or ``scalar`` path,
    pooling by ``max`` (the book's) or ``average``, its filters moved by
    ``stride`` over the image with ``padding`` rows and columns of zeros around it,
    its weights decayed at the rate ``weight_decay`` (λ).

    >>> cnn_model("array").describe()
    '6x6-input, 3-filter 3x3, 2x2-pool, 3-output convolutional'
    >>> cnn_model("array", pooling="average").pooling
    'average'
    >>> cnn_model("array", stride=1, padding=1).map_shape
    (6, 6)
    >>> cnn_model("array", weight_decay="0.001").network.weight_decay
    1/1000
    """
    options = dict(pooling=pooling, stride=stride, padding=padding, weight_decay=weight_decay)
    if path == "array":
        return CNNArrays(**options)
    if path == "scalar":
        return CNNScalar(**options)
    raise UnknownNameError(f"unknown path {path!r}; use array or scalar")
