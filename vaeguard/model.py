"""One model module for every autoencoder variant: VAE, plain AE, denoising AE and sparse AE.

The encoder reads scaled numbers, missing indicators and categories (an embedding sum, which equals a
linear layer over one-hot codes); the decoder has one likelihood head per column type:
Gaussian with a learned per-column variance for numbers, Bernoulli for "was this value missing",
softmax for categories. So the negative ELBO is a real per-row quantity over a mixed table and splits
into per-column contributions.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .encode import INPUT_CLIP
from .forward import (
    CAT_LOGIT_BOUND, LATENT_LOGVAR_MAX, LATENT_LOGVAR_MIN, LOG_2PI, NUM_DOF, NUM_LIKELIHOOD, NUM_LOGVAR_MAX, NUM_LOGVAR_MIN,
    NetworkShape, ScoringNetwork, student_const,
)

DAE_NOISE = 0.2  # std of the Gaussian corruption on numeric inputs
DAE_CAT_SWAP = 0.1  # chance a category is swapped for a random one during training
SPARSE_L1 = 1e-2  # weight of the L1 penalty on the code


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers)


def run_layers(layers: nn.Sequential, h: torch.Tensor) -> torch.Tensor:
    """`layers(h)`, with each activation written over the layer output it reads when nothing needs the
    graph (scoring): the same values, one buffer and one memory pass fewer per activation."""
    if torch.is_grad_enabled():
        return layers(h)
    for layer in layers:
        h = F.silu(h, inplace=True) if isinstance(layer, nn.SiLU) else layer(h)
    return h


def categorical_nll(logits: torch.Tensor, x_cat: torch.Tensor, offsets: torch.Tensor, segments: tuple[torch.Tensor, ...]):
    """Softmax cross-entropy of every categorical column at once, (..., rows, columns), with what its gradient
    reads: (nll, the logits clamped, where each row's maximum lies, the weights, their per-column sums, each
    observed entry's position). `segments`: the 0/1 matrices of NetworkShape.segments, end to end over the
    vocabulary. An <unknown> code (0) costs nothing here: a fixed term outside."""
    # Logits are bounded so that one shared shift per row keeps every exp() inside float32's range (e^-60 > 1e-38).
    clamped = logits.clamp(-CAT_LOGIT_BOUND, CAT_LOGIT_BOUND)
    shift, argmax = clamped.max(dim=-1, keepdim=True)
    weights = (clamped - shift).exp_()  # in place: one rows x vocabulary buffer fewer (the same values)
    # The blocks lie end to end over the vocabulary: split, not sliced, since a slice's gradient is a
    # zero-filled copy of the whole row of weights, one per block (1,555 columns: three quarters of a step).
    parts = torch.split(weights, [s.shape[0] for s in segments], dim=-1) if len(segments) > 1 else [weights]
    sums = [part @ s for part, s in zip(parts, segments)]
    sums = sums[0] if len(sums) == 1 else torch.cat(sums, dim=-1)
    index = (x_cat + offsets).expand(*logits.shape[:-1], -1)
    nll = torch.log(sums) + shift - clamped.gather(-1, index)
    return torch.where(x_cat == 0, torch.zeros_like(nll), nll), clamped, argmax, weights, sums, index


class CategoricalNLL(torch.autograd.Function):
    """categorical_nll in training, its gradient written out. Autograd's pass through that chain of a dozen
    operations made as many rows x vocabulary tensors (zero-filled buffers for the gather and the max, the
    clamp's masks, a product with each block's matrix transposed); this one makes two. The same sums of the
    same products in the same order (the row maximum's share, zero but for rounding, included), so the same
    gradients to the bit, and the same weights after training (tests/test_fast_paths.py). A training step of a
    Zeek conn log (2,048 rows, 29 categorical columns): 10.1 -> 9.2 ms; of ADBench InternetAds (1,024 rows,
    1,555 columns): 177 -> 147 ms (medians of six rounds in one process, two cores)."""

    @staticmethod
    def forward(ctx, logits, x_cat, offsets, column, *segments):
        nll, clamped, argmax, weights, sums, index = categorical_nll(logits, x_cat, offsets, segments)
        # The clamp's cut as a mask, not the two float tensors it compares: a wide table's batch of logits is
        # tens of MiB, held until the backward pass.
        ctx.save_for_backward(clamped != logits, argmax, weights, sums, index, x_cat, column)
        return nll

    @staticmethod
    def backward(ctx, grad):
        cut, argmax, weights, sums, index, x_cat, column = ctx.saved_tensors
        grad = torch.where(x_cat == 0, torch.zeros_like(grad), grad)
        # Each entry's share of its column's softmax (an <unknown> entry reads the zero column padded on).
        out = F.pad(grad / sums, (0, 1)).index_select(-1, column).mul_(weights)
        # The row maximum's gradient, as autograd adds it: the log-normaliser's plus the shifted weights'.
        at_max = grad.sum(-1, keepdim=True) - out.sum(-1, keepdim=True)
        out.scatter_add_(-1, index, -grad)
        out.scatter_add_(-1, argmax, at_max)
        out.masked_fill_(cut, 0.0)
        return (out, *([None] * (len(ctx.needs_input_grad) - 1)))


class TabularAutoencoder(nn.Module):
    def __init__(
        self,
        n_num: int,
        flag_index: list[int],
        vocab_sizes: list[int],
        latent_dim: int = 8,
        hidden: list[int] | tuple[int, ...] = (64, 32),
        variant: str = "vae",
        likelihood: str | None = None,
        dof: float | None = None,
    ):
        super().__init__()
        # Checks the options, and names and shapes every weight as the numpy scoring pass reads them.
        self.network_shape = NetworkShape(n_num, tuple(int(i) for i in flag_index), tuple(int(v) for v in vocab_sizes), latent_dim,
                                          tuple(int(h) for h in hidden), variant, likelihood or NUM_LIKELIHOOD,
                                          float(dof if dof is not None else NUM_DOF))
        self.likelihood, self.dof = self.network_shape.likelihood, self.network_shape.dof
        hidden = list(hidden)
        self.variant = variant
        self.n_num, self.n_flag, self.n_cat = n_num, len(flag_index), len(vocab_sizes)
        self.vocab_sizes = list(vocab_sizes)
        self.latent_dim = latent_dim
        self.register_buffer("flag_index", torch.tensor(flag_index, dtype=torch.long))
        offsets = self.network_shape.offsets
        self.register_buffer("cat_offsets", torch.tensor(offsets, dtype=torch.long))
        total_vocab = sum(vocab_sizes)
        # Each vocabulary entry's column, for the training pass's gradient (CategoricalNLL); <unknown>, in no
        # column's softmax, points past the last.
        column = torch.full((total_vocab,), len(vocab_sizes), dtype=torch.long)
        for j, (off, size) in enumerate(zip(offsets, vocab_sizes)):
            column[off + 1 : off + size] = j
        self.register_buffer("cat_column", column, persistent=False)
        self.cat_blocks = []
        for i, (start, stop, segments) in enumerate(self.network_shape.segments()):
            self.register_buffer(f"cat_segments{i}", torch.from_numpy(segments), persistent=False)
            self.cat_blocks.append((start, stop, f"cat_segments{i}"))

        h0 = hidden[0]
        dense_in = n_num + self.n_flag
        self.enc_dense = nn.Linear(dense_in, h0) if dense_in else None
        # A sum of embeddings equals a linear layer over one-hot codes; EmbeddingBag sums without
        # materialising a (rows, columns, hidden) tensor, which matters for tables with 1,000+ columns.
        self.enc_cat = nn.EmbeddingBag(total_vocab, h0, mode="sum") if total_vocab else None
        if self.enc_cat is not None:
            nn.init.normal_(self.enc_cat.weight, std=1.0 / math.sqrt(max(1, self.n_cat)))
            # An unseen category tells the encoder nothing (the row never trains it). Training the encoder on
            # such gaps too (5% or 15% of category inputs set to the unseen code, the true value still
            # decoded) left IoT-23's seed spread as it was: 44 -> 34 over seeds 0-9 0.952 -> 0.956 / 0.951
            # mean, 0.912-0.971 -> 0.922-0.971 / 0.923-0.971; 8 -> 34 0.960 -> 0.960 / 0.955. Not kept.
            with torch.no_grad():
                self.enc_cat.weight[torch.tensor(offsets, dtype=torch.long)] = 0.0
        self.one_hot_sum = self.network_shape.one_hot_sum  # training's sum of the category embeddings (forward.py)
        self.enc_bias = nn.Parameter(torch.zeros(h0)) if self.enc_dense is None else None
        self.enc_body = nn.Sequential(nn.SiLU(), *mlp(hidden))
        self.enc_mu = nn.Linear(hidden[-1], latent_dim)
        self.enc_logvar = nn.Linear(hidden[-1], latent_dim) if variant == "vae" else None

        self.dec_body = mlp([latent_dim] + hidden[::-1])
        hl = hidden[0]
        self.num_mean = nn.Linear(hl, n_num) if n_num else None
        # One noise scale per column. Adam moves it by about lr a step, so a small table's few hundred steps
        # leave it near 0 (2,500 UNSW rows: -0.6 after 600 steps, where a freer fit goes to -4). Letting it
        # move 10x faster was tried and not kept: ADBench half A mean ROC-AUC 0.730 -> 0.729, NSL-KDD
        # 0.984 -> 0.981, IoT-23 44 -> 34 over ten seeds 0.952 -> 0.932, UNSW unchanged (0.838 both).
        self.num_logvar = nn.Parameter(torch.zeros(n_num))
        self.flag_logit = nn.Linear(hl, self.n_flag) if self.n_flag else None
        self.cat_logits = nn.Linear(hl, total_vocab) if total_vocab else None

    # ---- encoder / decoder ---------------------------------------------------------------------
    def encode(self, x_num: torch.Tensor, observed: torch.Tensor, x_cat: torch.Tensor):
        h = None
        if self.enc_dense is not None:
            parts = [x_num.clamp(-INPUT_CLIP, INPUT_CLIP)]
            if self.n_flag:
                parts.append(1.0 - observed[:, self.flag_index])
            h = self.enc_dense(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])
        if self.enc_cat is not None:
            index = x_cat + self.cat_offsets
            if torch.is_grad_enabled() and self.one_hot_sum:
                # Offsets keep every column's codes apart, so a row's ones never collide.
                table = self.enc_cat.weight
                hot = torch.zeros(index.shape[0], table.shape[0], dtype=table.dtype, device=table.device).scatter_(1, index, 1.0)
                hc = hot @ table
            else:
                hc = self.enc_cat(index)
            h = hc if h is None else h + hc
        if self.enc_bias is not None:
            h = h + self.enc_bias
        h = run_layers(self.enc_body, h)
        mu = self.enc_mu(h)
        logvar = self.enc_logvar(h).clamp(LATENT_LOGVAR_MIN, LATENT_LOGVAR_MAX) if self.enc_logvar is not None else None
        return mu, logvar

    def decode(self, z: torch.Tensor):
        h = run_layers(self.dec_body, z)
        mean = self.num_mean(h) if self.num_mean is not None else None
        flags = self.flag_logit(h) if self.flag_logit is not None else None
        logits = self.cat_logits(h) if self.cat_logits is not None else None
        return mean, flags, logits, self.num_logvar.clamp(NUM_LOGVAR_MIN, NUM_LOGVAR_MAX)

    def column_nll(self, decoded, x_num, observed, x_cat) -> torch.Tensor:
        """Negative log-likelihood of each network column, shape (..., rows, n_num + n_cat).

        The decoded tensors may carry a leading sample dimension that the rows broadcast against (the
        importance-weighted score decodes K draws per row). Without gradients (scoring) the arithmetic
        on its own intermediate tensors runs in place: the same operations in the same order, a third
        fewer memory passes; the inputs are never written to.
        """
        mean, flags, logits, logvar = decoded
        inplace = not torch.is_grad_enabled()
        cols = []
        if self.n_num:
            if inplace:
                r2 = (x_num - mean).pow_(2).mul_(torch.exp(-logvar))
            else:
                r2 = (x_num - mean) ** 2 * torch.exp(-logvar)
            if self.likelihood == "student":
                nu, const = self.dof, student_const(self.dof)
                if inplace:
                    nll = r2.div_(nu).log1p_().mul_(0.5 * (nu + 1)).add_(0.5 * logvar + const).mul_(observed)
                else:
                    nll = (0.5 * logvar + const + 0.5 * (nu + 1) * torch.log1p(r2 / nu)) * observed
            elif inplace:
                nll = r2.add_(logvar).add_(LOG_2PI).mul_(0.5).mul_(observed)
            else:
                nll = 0.5 * (r2 + logvar + LOG_2PI) * observed
            if self.n_flag:
                missing = (1.0 - observed[..., self.flag_index]).expand_as(flags)
                if torch.jit.is_tracing():  # the ONNX export traces the graph
                    # The stable form written out, as the numpy pass writes it. ONNX's export of the fused op
                    # (and of logsigmoid) takes logs of sigmoids, and a flag the network is sure of (a logit past
                    # 17: a field only one protocol's packets carry) gave 0 * log(0), NaN, in the exported graph.
                    bce = flags.clamp(min=0) - flags * missing + torch.log1p(torch.exp(-flags.abs()))
                else:
                    bce = F.binary_cross_entropy_with_logits(flags, missing, reduction="none")
                shape = nll.shape  # index_add on rows x columns (ONNX's scatter wants both ranks equal)
                nll = nll.reshape(-1, shape[-1]).index_add(1, self.flag_index, bce.reshape(-1, bce.shape[-1])).reshape(shape)
            cols.append(nll)
        if self.n_cat:
            segments = tuple(getattr(self, name) for _, _, name in self.cat_blocks)
            if torch.is_grad_enabled() and logits.requires_grad and logits.dim() == 2 and not torch.jit.is_tracing():
                cols.append(CategoricalNLL.apply(logits, x_cat, self.cat_offsets, self.cat_column, *segments))
            else:
                cols.append(categorical_nll(logits, x_cat, self.cat_offsets, segments)[0])
        return torch.cat(cols, dim=-1)

    @staticmethod
    def kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Closed-form KL(N(mu, sigma^2) || N(0, I)) per row (Kingma and Welling 2014, appendix B)."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)

    # ---- training ------------------------------------------------------------------------------
    def training_loss(self, x_num, observed, x_cat, beta: float = 1.0, trim: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean per-row loss for one batch: negative ELBO (VAE) or reconstruction NLL plus penalties.

        trim: leave out this share of the batch's worst-fitting rows. Real training data holds some
        anomalies; fitting them teaches the model that they are normal.
        generator: where the noise comes from (torch's global generator when None).
        """
        enc_num, enc_cat = x_num, x_cat
        if self.variant == "dae":
            enc_num = x_num + DAE_NOISE * torch.randn(x_num.shape, generator=generator, device=x_num.device, dtype=x_num.dtype)
            if self.n_cat:
                swap = torch.rand(x_cat.shape, generator=generator, device=x_cat.device) < DAE_CAT_SWAP
                sizes = torch.tensor(self.vocab_sizes, device=x_cat.device)
                random_cat = (torch.rand(x_cat.shape, generator=generator, device=x_cat.device) * sizes).long()
                enc_cat = torch.where(swap, random_cat, x_cat)
        mu, logvar = self.encode(enc_num, observed, enc_cat)
        if self.variant == "vae":
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        else:
            z = mu
        loss = self.column_nll(self.decode(z), x_num, observed, x_cat).sum(dim=1)
        if self.variant == "vae":
            loss = loss + beta * self.kl(mu, logvar)
        elif self.variant == "sparse-ae":
            loss = loss + SPARSE_L1 * mu.abs().sum(dim=1)
        if trim > 0.0 and loss.shape[0] > 1:
            keep = max(1, int(round(loss.shape[0] * (1.0 - trim))))
            loss = torch.topk(loss, keep, largest=False, sorted=False).values
        return loss.mean()

    # ---- scoring -------------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, x_num, observed, x_cat, kind: str = "elbo", eps: torch.Tensor | None = None):
        """Per-row anomaly score (higher = more anomalous) and per-column contributions.

        kind="elbo": negative importance-weighted bound (Burda, Grosse and Salakhutdinov 2016) with the K
        fixed draws in `eps` (K, latent_dim);
        shared draws make the score deterministic and independent of how rows are batched.
        kind="recon": reconstruction NLL decoded from the latent mean.
        """
        mu, logvar = self.encode(x_num, observed, x_cat)
        if kind == "recon" or self.variant != "vae":
            contrib = self.column_nll(self.decode(mu), x_num, observed, x_cat)
            return contrib.sum(dim=1), contrib
        k, b = eps.shape[0], mu.shape[0]
        std = torch.exp(0.5 * logvar)
        z = mu.unsqueeze(0) + std.unsqueeze(0) * eps.unsqueeze(1)  # (K, B, d)
        mean, flags, logits, num_logvar = self.decode(z.reshape(k * b, -1))
        # (K, B, ...) decoder outputs against (B, ...) rows: broadcast, not K copies of the rows.
        unflat = lambda t: None if t is None else t.reshape(k, b, -1)  # noqa: E731
        nll = self.column_nll((unflat(mean), unflat(flags), unflat(logits), num_logvar), x_num, observed, x_cat)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)
        log_qz = -0.5 * (eps.pow(2).unsqueeze(1) + logvar.unsqueeze(0) + LOG_2PI).sum(dim=2)
        log_w = -nll.sum(dim=2) + log_pz - log_qz  # (K, B)
        bound = torch.logsumexp(log_w, dim=0) - math.log(k)
        weights = torch.softmax(log_w, dim=0).unsqueeze(2)
        contrib = (weights * nll).sum(dim=0)
        return -bound, contrib

    # ---- the numpy scoring pass (forward.py) ------------------------------------------------------
    def numpy_weights(self) -> dict[str, np.ndarray]:
        """The state_dict as numpy arrays, under the names a checkpoint and forward.py use (views of CPU tensors)."""
        return {k: v.detach().cpu().numpy() for k, v in self.state_dict().items()}

    def to_scoring(self) -> ScoringNetwork:
        """The weights as numpy arrays of their own (not views: training may go on changing these)."""
        return ScoringNetwork(self.network_shape, {k: v.copy() for k, v in self.numpy_weights().items()})

    @classmethod
    def from_scoring(cls, net: ScoringNetwork) -> "TabularAutoencoder":
        s = net.shape
        model = cls(s.n_num, list(s.flag_index), list(s.vocab_sizes), s.latent_dim, list(s.hidden), s.variant, s.likelihood, s.dof)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in net.weights.items()})
        return model.eval()
