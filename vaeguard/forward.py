"""The trained network's scoring pass in numpy, so that scoring never imports torch.

Importing torch takes 1.3-1.9 s and 220 MiB, more than scoring a million rows needs for the network
itself; a cron job that scores a thousand rows spent most of its time on it. Training stays in torch
(model.py); this module runs the same arithmetic on the weights a fit leaves, in float32, so a row's
score agrees with torch's to float32 rounding (tests/test_forward.py holds the two together). The
constants both implementations share live here.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .encode import INPUT_CLIP

VARIANTS = ("vae", "ae", "dae", "sparse-ae")
LIKELIHOODS = ("student", "gaussian")
LOG_2PI = math.log(2 * math.pi)
# Floor on a numeric column's learned variance (in robust-scaled units). Without it a column the
# decoder copies almost perfectly gets a vanishing variance and then dominates every score.
NUM_LOGVAR_MIN = math.log(0.01)
NUM_LOGVAR_MAX = math.log(100.0)
LATENT_LOGVAR_MIN, LATENT_LOGVAR_MAX = -10.0, 10.0
# Likelihood of a numeric column given z: "student", a Student-t with NUM_DOF degrees of freedom (1: a
# Cauchy), whose cost grows with the log of a deviation, so no single column the decoder predicts
# tightly decides a row's score alone and anomalies in the training rows pull the fit less; or
# "gaussian", whose cost grows with its square. benchmarks/tune.py, mean ROC-AUC on ADBench half A / B:
# gaussian 0.694 / 0.784, student 1 dof 0.708 / 0.816, 3 dof 0.700 / 0.808 (learned per-column dof
# 0.696 on A; a per-row decoder variance, 0.671 Gaussian and 0.709 Cauchy on A, was not kept). Also not
# kept: a lighter tail for the log-scaled columns alone, on the reasoning that the log already tames their
# tails and a Cauchy on top discounts a deviation twice. Half A 0.708 -> 0.703 with a Laplace there and
# 0.689 with a Gaussian (SpamBase 0.676 -> 0.604 / 0.525; Cardiotocography 0.533 -> 0.546 / 0.512),
# NSL-KDD 0.984 -> 0.977 / 0.976.
NUM_LIKELIHOOD = "student"
NUM_DOF = 1.0
CAT_LOGIT_BOUND = 30.0  # a category's probability can fall to about e^-60, never to 0
# The category embeddings are summed as a one-hot matrix times the table when the columns have few
# categories each (flags, history letters, small codes): torch's embedding bag sorts every index of a
# batch in its backward pass, and for a Zeek log's 29 categorical columns (110 categories) that sort took
# 37% of a training step (one-hot: 5.7 ms a step instead of 8.4; 300 three-valued columns: 42 instead of
# 64); scoring gathers a table row per column (1.0 us a row for those 29 columns, one-hot 0.3). From
# about 20-50 categories a column the bag is as fast or faster in training (10 columns of 200: 37
# against 49 ms), and the matrix (rows x vocabulary) is capped.
ONE_HOT_MAX_MEAN_VOCAB = 16
ONE_HOT_MAX_VOCAB = 8192
# The per-column sums of a categorical softmax are matrix products (vocabulary x columns, see segments), one per
# block of this many columns. One matrix for every column grew with their square: each step of a fit of ADBench
# InternetAds' 1,555 two-valued columns multiplied by a 4,665 x 1,555 matrix of zeros but for one entry a row in
# three (its fit 80 s; 28 s in blocks, the same scores). Tables of up to this many categorical columns keep the one
# product, bit for bit.
SEGMENT_BLOCK = 64


def student_const(dof: float) -> float:
    """The Student-t log-density's constant: log(sqrt(nu pi) Gamma(nu/2) / Gamma((nu+1)/2))."""
    return 0.5 * math.log(dof * math.pi) + math.lgamma(dof / 2) - math.lgamma((dof + 1) / 2)


@dataclass(frozen=True)
class NetworkShape:
    """What the weights' names and shapes follow from: the table's columns and the model options."""

    n_num: int
    flag_index: tuple[int, ...]
    vocab_sizes: tuple[int, ...]
    latent_dim: int
    hidden: tuple[int, ...]
    variant: str
    likelihood: str = NUM_LIKELIHOOD
    dof: float = NUM_DOF

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown model variant {self.variant!r}")
        if self.likelihood not in LIKELIHOODS or not self.dof > 0:
            raise ValueError(f"unknown numeric likelihood {self.likelihood!r} with {self.dof} degrees of freedom")

    @property
    def offsets(self) -> list[int]:
        """Where each categorical column's vocabulary starts in the shared embedding and logits ([0] with none)."""
        return [0] + [int(v) for v in np.cumsum(self.vocab_sizes[:-1])]

    @property
    def one_hot_sum(self) -> bool:
        """Whether the category embeddings are summed as a one-hot matrix times the table (see ONE_HOT_MAX_MEAN_VOCAB)."""
        total = int(sum(self.vocab_sizes))
        return 0 < total <= min(ONE_HOT_MAX_VOCAB, ONE_HOT_MAX_MEAN_VOCAB * len(self.vocab_sizes))

    def segments(self) -> list[tuple[int, int, np.ndarray]]:
        """Vocabulary entry -> its column, as 0/1 matrices: per-column sums of exp(logits) become matrix products,
        one for each block of SEGMENT_BLOCK consecutive columns, given as (its first entry, the entry after its
        last, its matrix). Entry 0 of every column, <unknown>, is left out: its probability is a fixed estimate from
        the training counts (encode.Encoded.fixed), not something the decoder can learn from rows it never saw."""
        blocks, offsets, sizes = [], self.offsets, self.vocab_sizes
        for first in range(0, len(sizes), SEGMENT_BLOCK):
            columns = range(first, min(first + SEGMENT_BLOCK, len(sizes)))
            start, stop = offsets[first], offsets[columns[-1]] + int(sizes[columns[-1]])
            out = np.zeros((stop - start, len(columns)), dtype=np.float32)
            for j, c in enumerate(columns):
                out[offsets[c] - start + 1 : offsets[c] - start + int(sizes[c]), j] = 1.0
            blocks.append((start, stop, out))
        return blocks

    def encoder_layers(self) -> list[str]:
        # model.py's enc_body is Sequential(SiLU, Linear, SiLU, Linear, SiLU, ...): the linears sit at odd places.
        return [f"enc_body.{2 * i + 1}" for i in range(len(self.hidden) - 1)]

    def decoder_layers(self) -> list[str]:
        return [f"dec_body.{2 * i}" for i in range(len(self.hidden))]

    def weights(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """Every tensor a checkpoint holds for this network (torch's state_dict names): shape and dtype."""
        n_flag, total_vocab, h = len(self.flag_index), int(sum(self.vocab_sizes)), list(self.hidden)
        out: dict[str, tuple[tuple[int, ...], str]] = {
            "num_logvar": ((self.n_num,), "float32"), "flag_index": ((n_flag,), "int64"), "cat_offsets": ((len(self.offsets),), "int64"),
        }

        def linear(name: str, n_in: int, n_out: int) -> None:
            out[f"{name}.weight"] = ((n_out, n_in), "float32")
            out[f"{name}.bias"] = ((n_out,), "float32")

        if self.n_num + n_flag:
            linear("enc_dense", self.n_num + n_flag, h[0])
        else:
            out["enc_bias"] = ((h[0],), "float32")
        if total_vocab:
            out["enc_cat.weight"] = ((total_vocab, h[0]), "float32")
        for name, (a, b) in zip(self.encoder_layers(), zip(h[:-1], h[1:])):
            linear(name, a, b)
        linear("enc_mu", h[-1], self.latent_dim)
        if self.variant == "vae":
            linear("enc_logvar", h[-1], self.latent_dim)
        sizes = [self.latent_dim] + h[::-1]
        for name, (a, b) in zip(self.decoder_layers(), zip(sizes[:-1], sizes[1:])):
            linear(name, a, b)
        for name, n in (("num_mean", self.n_num), ("flag_logit", n_flag), ("cat_logits", total_vocab)):
            if n:
                linear(name, h[0], n)
        return out

    def score_batch_rows(self, samples: int, budget: int = 2**24) -> int:
        """Rows per scoring batch so the K-sample decoder outputs stay within ~`budget` floats.

        A power of two that divides the default score chunk (32,768 rows), so full chunks need no padding;
        4,096 rows run 20% faster than 1,024 (fewer small calls)."""
        n_cat = len(self.vocab_sizes)
        width = self.n_num + len(self.flag_index) + n_cat * max(self.vocab_sizes, default=0) + sum(self.vocab_sizes) + 64
        rows = max(64, min(4096, budget // max(1, samples * width)))
        return 1 << (int(rows).bit_length() - 1)


class _OneBlasThread:
    """Numpy's BLAS on one thread while any scoring pass runs, then as it was.

    OpenBLAS sums a product in another order on two threads than on one (differences in the last bits),
    so without this a row's score would depend on how many threads the caller's BLAS had: the streaming
    CLI, the Python API, Dask and Spark would disagree. Scoring runs on several chunks at once instead.
    The limit is process-wide, hence the count of passes running. OpenBLAS ignores a change of its
    thread count made from another thread than the one that started its threads (the main thread, as a
    rule), so whoever runs scoring on worker threads enters this first on its own thread, as
    `pipeline.score_file` does; Dask's workers start with one BLAS thread (OMP_NUM_THREADS=1).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._running = 0
        self._controller = self._limiter = None

    @contextmanager
    def __call__(self):
        with self._lock:
            if self._running == 0:
                if self._controller is None:  # finding the loaded libraries takes a few milliseconds: once
                    from threadpoolctl import ThreadpoolController

                    self._controller = ThreadpoolController()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    self._limiter.restore_original_limits()


one_blas_thread = _OneBlasThread()


def _silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x), written over x. exp(-x) may overflow to inf for x below -88: x / inf is the right 0."""
    t = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1.0
    return np.divide(x, t, out=x)


class ScoringNetwork:
    """The encoder and decoder as numpy arrays, with the score of model.TabularAutoencoder.score."""

    def __init__(self, shape: NetworkShape, weights: dict[str, np.ndarray]):
        self.shape = shape
        self.weights = weights  # as a checkpoint stores them (torch's layout: a linear's weight is out x in)
        s = shape
        # Each linear layer's weight transposed once, so a layer is `h @ w` on a contiguous matrix.
        self._t = {k: np.ascontiguousarray(v.T) for k, v in weights.items() if k.endswith(".weight") and k != "enc_cat.weight"}
        self.offsets = np.asarray(s.offsets, dtype=np.int64)
        self.flag_index = np.asarray(s.flag_index, dtype=np.int64)
        self.num_logvar = np.clip(weights["num_logvar"], NUM_LOGVAR_MIN, NUM_LOGVAR_MAX).astype(np.float32)
        # A squared deviation is scaled once: by 1 / (variance x dof) for a Student-t, 1 / (2 variance) for a Gaussian.
        if s.likelihood == "student":
            self.num_scale = (np.exp(-self.num_logvar) / s.dof).astype(np.float32)
            self.num_const = (0.5 * self.num_logvar + student_const(s.dof)).astype(np.float32)
        else:
            self.num_scale = (0.5 * np.exp(-self.num_logvar)).astype(np.float32)
            self.num_const = (0.5 * (self.num_logvar + LOG_2PI)).astype(np.float32)
        self.segments = s.segments()

    @staticmethod
    def _row_starts(rows: int, width: int) -> np.ndarray:
        """Where each of `rows` rows of `width` values starts in their flattened array, as a column."""
        return (np.arange(rows, dtype=np.int64) * width)[:, None]

    def _linear(self, h: np.ndarray, name: str) -> np.ndarray:
        out = h @ self._t[f"{name}.weight"]
        out += self.weights[f"{name}.bias"]
        return out

    def encode(self, x_num: np.ndarray, observed: np.ndarray, x_cat: np.ndarray):
        s = self.shape
        h = None
        if s.n_num + len(s.flag_index):
            dense = np.clip(x_num, -INPUT_CLIP, INPUT_CLIP)
            if len(s.flag_index):
                dense = np.concatenate([dense, 1.0 - observed[:, self.flag_index]], axis=1)
            h = self._linear(dense, "enc_dense")
        if s.vocab_sizes:
            table = self.weights["enc_cat.weight"]
            idx = x_cat + self.offsets
            if s.one_hot_sum:
                hot = np.zeros((idx.shape[0], table.shape[0]), dtype=np.float32)
                # Offsets keep each column's codes apart: no collisions. Set through flat positions: the same
                # ones as put_along_axis, a third of its time (it builds an index array per dimension).
                hot.reshape(-1)[idx + self._row_starts(idx.shape[0], table.shape[0])] = 1.0
                hc = hot @ table
            else:
                hc = table[idx[:, 0]]  # a sum of embedding rows, one column at a time: no (rows, columns, hidden) array
                for j in range(1, idx.shape[1]):
                    hc += table[idx[:, j]]
            h = hc if h is None else np.add(h, hc, out=h)
        if "enc_bias" in self.weights:
            h = h + self.weights["enc_bias"]
        _silu(h)
        for name in s.encoder_layers():
            h = _silu(self._linear(h, name))
        mu = self._linear(h, "enc_mu")
        logvar = np.clip(self._linear(h, "enc_logvar"), LATENT_LOGVAR_MIN, LATENT_LOGVAR_MAX) if s.variant == "vae" else None
        return mu, logvar

    def decode(self, z: np.ndarray):
        h = z
        for name in self.shape.decoder_layers():
            h = _silu(self._linear(h, name))
        s = self.shape
        mean = self._linear(h, "num_mean") if s.n_num else None
        flags = self._linear(h, "flag_logit") if s.flag_index else None
        logits = self._linear(h, "cat_logits") if s.vocab_sizes else None
        return mean, flags, logits

    def column_nll(self, decoded, x_num: np.ndarray, observed: np.ndarray, x_cat: np.ndarray) -> np.ndarray:
        """Negative log-likelihood of each network column, shape (..., rows, n_num + n_cat); the decoded
        arrays (which it overwrites) may carry a leading sample dimension the rows broadcast against."""
        mean, flags, logits = decoded
        s = self.shape
        cols = []
        if s.n_num:
            r2 = np.subtract(x_num, mean, out=mean)
            np.square(r2, out=r2)
            r2 *= self.num_scale
            if s.likelihood == "student":
                # log(1 + x) for log1p: numpy's log is vectorised and its log1p is not (590k float32 values,
                # a batch's K draws: 1.1 ms against 7.1). x >= 0 here, so 1 + x loses only what float32
                # cannot hold beside 1: 5.4M scores and contributions moved by 4e-6 at most (relative 1e-6).
                r2 += np.float32(1.0)
                np.log(r2, out=r2)
                r2 *= np.float32(0.5 * (s.dof + 1))
            r2 += self.num_const
            r2 *= observed
            if s.flag_index:
                missing = 1.0 - observed[..., self.flag_index]
                # Binary cross-entropy with logits, in the stable form torch uses.
                bce = np.maximum(flags, 0) - flags * missing + np.log1p(np.exp(-np.abs(flags)))
                r2[..., self.flag_index] += bce
            cols.append(r2)
        if s.vocab_sizes:
            np.clip(logits, -CAT_LOGIT_BOUND, CAT_LOGIT_BOUND, out=logits)
            # No max to shift by: bounded logits keep every exp() and every column's sum of them inside
            # float32's range (e^30 is 1e13; float32 reaches 3e38), and the row-wise max cost as much as
            # the rest of this block. One 2-D product: numpy loops a 3-D one batch by batch.
            weights = np.exp(logits)
            flat = weights.reshape(-1, weights.shape[-1])
            sums = [flat[:, start:stop] @ segments for start, stop, segments in self.segments]
            sums = (sums[0] if len(sums) == 1 else np.concatenate(sums, axis=1)).reshape(*weights.shape[:-1], -1)
            with np.errstate(divide="ignore"):  # a column whose vocabulary is <unknown> alone: masked below
                log_norm = np.log(sums, out=sums)
            # Each row's logit of its own category, taken at flat positions within a sample's rows: the
            # values of take_along_axis over the broadcast index, in a fifth of its time.
            rows, width = x_cat.shape[0], logits.shape[-1]
            flat = x_cat + self.offsets + self._row_starts(rows, width)
            nll = log_norm - np.take(logits.reshape(*logits.shape[:-2], rows * width), flat, axis=-1)
            nll = np.where(x_cat == 0, np.float32(0.0), nll)  # <unknown>: a fixed term outside the network
            cols.append(nll)
        return np.concatenate(cols, axis=-1) if len(cols) > 1 else cols[0]

    def score(self, x_num: np.ndarray, observed: np.ndarray, x_cat: np.ndarray, kind: str, eps: np.ndarray):
        """Per-row score (higher = more anomalous) and per-column contributions, as TabularAutoencoder.score:
        the negative importance-weighted bound with the K fixed draws `eps` (K, latent), or ("recon", and
        every variant but the VAE) the reconstruction NLL decoded from the latent mean."""
        mu, logvar = self.encode(x_num, observed, x_cat)
        if kind == "recon" or self.shape.variant != "vae":
            contrib = self.column_nll(self.decode(mu), x_num, observed, x_cat)
            return contrib.sum(axis=1), contrib
        k, b = eps.shape[0], mu.shape[0]
        z = mu[None] + np.exp(0.5 * logvar)[None] * eps[:, None]  # (K, B, d)
        mean, flags, logits = self.decode(z.reshape(k * b, -1))
        unflat = lambda t: None if t is None else t.reshape(k, b, -1)  # noqa: E731
        nll = self.column_nll((unflat(mean), unflat(flags), unflat(logits)), x_num, observed, x_cat)
        # log p(z) - log q(z|x) for z = mu + sigma eps: -0.5 (|z|^2 - |eps|^2 - sum log sigma^2), log 2 pi
        # cancelling. Sums and products only, no einsum: its loops take another path for other memory
        # alignments, and a row's score would then depend on where its batch happened to be allocated.
        log_w = 0.5 * (np.square(eps).sum(axis=1)[:, None] + logvar.sum(axis=1)[None] - np.square(z).sum(axis=2))
        log_w -= nll.sum(axis=2)  # (K, B)
        top = log_w.max(axis=0)
        w = np.exp(log_w - top)
        total = w.sum(axis=0)
        bound = np.log(total) + top - np.float32(math.log(k))
        w /= total
        contrib = w[0][:, None] * nll[0]
        for j in range(1, k):
            contrib += w[j][:, None] * nll[j]
        return -bound, contrib
