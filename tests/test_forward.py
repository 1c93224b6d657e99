"""The numpy scoring pass (forward.py) against the torch model it mirrors (model.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from vaeguard.forward import NetworkShape, one_blas_thread
from vaeguard.model import TabularAutoencoder

SHAPES = [  # (numeric columns, missing flags, vocabularies, hidden layers)
    (3, [1], [4, 3], (16, 8)),
    (3, [], [], (16,)),
    (0, [], [5], (32, 16, 8)),
    (2, [0, 1], [1], (8, 8)),
    (1, [0], [3] * 70 + [1, 6], (16, 8)),  # more categorical columns than one segment block holds
]


def trained_like(n_num, flags, vocab, hidden, variant="vae", likelihood=None, seed=0) -> TabularAutoencoder:
    """A model with every weight away from its initial value (biases start at 0, num_logvar too)."""
    torch.manual_seed(seed)
    model = TabularAutoencoder(n_num, flags, vocab, 4, hidden, variant, likelihood).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def rows(n_num, vocab, n=300, seed=1):
    g = np.random.default_rng(seed)
    x_num = (g.standard_normal((n, n_num)) * 3).astype(np.float32)  # some beyond the input clip
    observed = (g.random((n, n_num)) > 0.15).astype(np.float32)
    x_num *= observed
    x_cat = np.stack([g.integers(0, v, n) for v in vocab], axis=1) if vocab else np.zeros((n, 0), np.int64)
    return x_num, observed, x_cat.astype(np.int64)


@pytest.mark.parametrize("n_num,flags,vocab,hidden", SHAPES)
def test_shape_names_every_weight_the_torch_model_saves(n_num, flags, vocab, hidden):
    for variant in ("vae", "ae"):
        model = TabularAutoencoder(n_num, flags, vocab, 4, hidden, variant)
        want = {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()}
        assert NetworkShape(n_num, tuple(flags), tuple(vocab), 4, hidden, variant).weights() == want


@pytest.mark.parametrize("n_num,flags,vocab,hidden", SHAPES)
@pytest.mark.parametrize("variant,likelihood,kind", [("vae", "student", "elbo"), ("vae", "gaussian", "elbo"), ("vae", "student", "recon"),
                                                     ("ae", "student", "recon"), ("dae", "gaussian", "recon")])
def test_numpy_scores_equal_torch_scores(n_num, flags, vocab, hidden, variant, likelihood, kind):
    model = trained_like(n_num, flags, vocab, hidden, variant, likelihood)
    net = model.to_scoring()
    x_num, observed, x_cat = rows(n_num, vocab)
    eps = torch.randn(4, 4, generator=torch.Generator().manual_seed(2))
    want_s, want_c = model.score(torch.from_numpy(x_num), torch.from_numpy(observed), torch.from_numpy(x_cat), kind=kind, eps=eps)
    with one_blas_thread():
        got_s, got_c = net.score(x_num, observed, x_cat, kind=kind, eps=eps.numpy())
    assert got_s.dtype == np.float32 and got_c.shape == tuple(want_c.shape)
    np.testing.assert_allclose(got_s, want_s.numpy(), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(got_c, want_c.numpy(), rtol=2e-5, atol=2e-5)


def test_segment_blocks_sum_each_columns_entries():
    """The per-column sums of exp(logits), one product per block of columns, against the sums taken one column at
    a time: every entry but <unknown> counted once, in its own column, across a block's edge too."""
    shape = NetworkShape(0, (), (3,) * 70 + (1, 6) + (2,) * 60, 4, (8,), "vae")
    blocks = shape.segments()
    assert len(blocks) == 3 and blocks[0][0] == 0 and blocks[-1][1] == sum(shape.vocab_sizes)
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:])) and sum(m.nbytes for *_, m in blocks) < 100_000
    w = np.random.default_rng(0).random((5, sum(shape.vocab_sizes))).astype(np.float32)
    got = np.concatenate([w[:, start:stop] @ m for start, stop, m in blocks], axis=1)
    want = np.stack([w[:, o + 1 : o + v].sum(axis=1) for o, v in zip(shape.offsets, shape.vocab_sizes)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_round_trip_through_torch_keeps_every_weight():
    model = trained_like(3, [1], [4, 3], (16, 8))
    again = TabularAutoencoder.from_scoring(model.to_scoring())
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name


def test_one_blas_thread_restores_the_callers_setting():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas_threads()
    with one_blas_thread():
        with one_blas_thread():  # nested, as two scoring threads overlap
            assert set(blas_threads()) <= {1}
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before


def test_scoring_a_saved_model_never_imports_torch(tmp_path):
    from vaeguard import VAEGuard
    from tests.conftest import make_flows

    df = make_flows(200)
    guard = VAEGuard(epochs=2).fit(df)
    guard.save(tmp_path / "m")
    df.to_csv(tmp_path / "rows.csv", index=False)
    want = guard.anomaly_score(df)
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from vaeguard.detector import Detector\n"
        f"d = Detector.load({str(tmp_path / 'm')!r})\n"
        f"s = d.anomaly_score(pd.read_csv({str(tmp_path / 'rows.csv')!r}))\n"
        "d.explain(pd.read_csv(" + repr(str(tmp_path / "rows.csv")) + ").head(2))\n"
        "assert len(d.sample(5)) == 5\n"
        f"np.save({str(tmp_path / 's.npy')!r}, s)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), want, rtol=1e-5)
    # The command itself, --threads included, reports at exit whether torch was imported.
    cli = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('torch' in sys.modules, file=sys.stderr))\n"
        "from vaeguard.cli import main\n"
        "main()\n"
    )
    args = ["score", str(tmp_path / "rows.csv"), "--model", str(tmp_path / "m"), "--out", str(tmp_path / "o.csv"), "--threads", "1", "-q"]
    res = subprocess.run([sys.executable, "-c", cli, *args], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr.strip() == "False", res.stderr
    args = ["generate", "--model", str(tmp_path / "m"), "-n", "5", "--out", str(tmp_path / "g.csv"), "-q"]
    res = subprocess.run([sys.executable, "-c", cli, *args], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr.strip() == "False", res.stderr


def test_training_likelihood_of_many_category_columns_matches_a_softmax_per_column():
    """The training pass's categorical likelihood (one product per block of columns, the blocks split apart) and
    its gradient, against a log-softmax taken one column at a time over every entry but <unknown>."""
    vocab = [3] * 70 + [6] + [2] * 60  # (a column of <unknown> alone, never fitted, has no likelihood to train)
    model = trained_like(0, [], vocab, (8,))
    offsets = model.cat_offsets.tolist()
    _, _, x_cat = rows(0, vocab, n=40)
    x_cat = torch.from_numpy(x_cat)
    logits = torch.randn(40, sum(vocab), generator=torch.Generator().manual_seed(3), requires_grad=True)
    empty = torch.zeros(40, 0)
    got = model.column_nll((None, None, logits, None), empty, empty, x_cat)
    got.sum().backward()
    got_grad, logits.grad = logits.grad.clone(), None
    want = []
    for j, (o, v) in enumerate(zip(offsets, vocab)):
        log_p = torch.log_softmax(logits[:, o + 1 : o + v], dim=1)
        code = x_cat[:, j]
        nll = -log_p.gather(1, (code - 1).clamp(min=0)[:, None])[:, 0]
        want.append(torch.where(code == 0, torch.zeros_like(nll), nll))
    want = torch.stack(want, dim=1)
    want.sum().backward()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_grad, logits.grad, rtol=1e-5, atol=5e-5)  # the shared shift cancels, to rounding
