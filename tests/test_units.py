"""The pieces under the CLI: schema roles, encoding, the model's likelihood maths, calibration."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from vaeguard.calibrate import Calibration
from vaeguard.encode import MISSING, OTHER, UNKNOWN, Preprocessor, canonical_strings
from vaeguard.model import TabularAutoencoder
from vaeguard.schema import infer_schema
from vaeguard.scoring import top_features
from vaeguard.train import auto_epochs

from .conftest import make_flows


def roles(df):
    return {s.name: s.role for s in infer_schema(df)}


def test_schema_roles():
    n = 100
    df = pd.DataFrame({
        "row": np.arange(n),
        "const": 1,
        "empty": np.nan,
        "flag": np.arange(n) % 2 == 0,
        "port_class": np.arange(n) % 4,
        "count": np.arange(n) * 7 % 53,
        "x": np.linspace(0, 1, n),
        "host": [f"h{i}" for i in range(n)],
        "proto": ["tcp", "udp"] * (n // 2),
        "numtext": [str(i * 1.5) for i in range(n)],
        "when": pd.date_range("2026-01-01", periods=n, freq="min"),
        "took": pd.to_timedelta(np.arange(n) * 37 % 101, unit="ms"),  # a Parquet duration is a magnitude
        "orig_bytes": [48.0, np.nan] * (n // 2),  # one NTP capture's byte count: still a count
        "missed_bytes": 0,
    })
    assert roles(df) == {
        "row": "ignored", "const": "constant", "empty": "constant", "flag": "categorical", "port_class": "categorical",
        "count": "numeric", "x": "numeric", "host": "ignored", "proto": "categorical", "numtext": "numeric", "when": "ignored",
        "took": "numeric", "orig_bytes": "numeric", "missed_bytes": "numeric",
    }
    # ... measured in seconds.
    seconds = df.assign(took=df["took"].dt.total_seconds())
    specs = infer_schema(df)
    assert np.array_equal(Preprocessor.fit(df, specs).transform(df).x_num, Preprocessor.fit(seconds, specs).transform(seconds).x_num)
    # A Parquet decimal arrives as Python Decimals: numbers, and the reason says what they are.
    from decimal import Decimal

    (price,) = infer_schema(pd.DataFrame({"price": [Decimal("1.50"), Decimal("2.25"), Decimal("9.99")] * 40}))
    assert price.role == "numeric" and price.reason == "numbers (decimal)"


def test_a_column_of_mostly_distinct_values_is_an_id_only_where_none_is_a_number_in_any_written_form():
    # Past SAMPLE distinct values, a sample of them decides whether a text column could be numbers at all;
    # amounts and sizes each of them distinct are numbers, a Zeek uid's are not.
    from vaeguard.numbertext import written_as_numbers
    from vaeguard.schema import infer_column

    got = written_as_numbers(pd.Series(["12", "2,5", "3,833", "$1,234.50", "(12.00)", "0:03:40", "40.6 KB", "1.234,50 €", "C1a2b3c4d5e6", "n/a"]))
    assert got.tolist() == [True] * 8 + [False, False]
    n = 5000
    rng = np.random.default_rng(0)
    amounts = pd.Series([f"${v:,.2f}" for v in rng.uniform(1000, 900000, n)])
    # "573.628,56 €": the euro's amounts each distinct had been ignored as id-like text, where a few hundred
    # of them were read as the numbers they are.
    euros = pd.Series([f"{v:,.2f} €".replace(",", "_").replace(".", ",").replace("_", ".") for v in rng.uniform(1000, 900000, n)])
    assert euros[0].count(".") == 1 and infer_column("amount", euros).transform == "units-decimal-comma"
    sizes = pd.Series([f"{v:.3f} MB" for v in rng.uniform(1, 900, n)])
    uids = pd.Series(["C" + "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), 17)) for _ in range(n)])
    assert infer_column("amount", amounts).role == "numeric" and infer_column("size", sizes).role == "numeric"
    assert infer_column("uid", uids).role == "ignored"


def test_canonical_strings_agree_across_dtypes():
    a = canonical_strings(pd.Series([6, 7], dtype="int64"))
    b = canonical_strings(pd.Series([6.0, 7.0, np.nan]))
    c = canonical_strings(pd.Series(["6", "7", None], dtype=object))
    assert list(a) == ["6", "7"] and list(b) == ["6", "7", MISSING] and list(c) == ["6", "7", MISSING]


def test_encoding_numeric_and_categorical():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "bytes": rng.lognormal(8, 2, 500).round(),
        "rate": rng.normal(0, 1, 500),
        "svc": rng.choice(["a", "b", "c"], 500, p=[0.6, 0.398, 0.002]),
    })
    df.loc[::10, "rate"] = np.nan
    pre = Preprocessor.fit(df, infer_schema(df))
    byname = {c.name: c for c in pre.numeric}
    assert byname["bytes"].log and not byname["rate"].log
    assert byname["rate"].missing_flag and not byname["bytes"].missing_flag
    vocab = pre.categorical[0].vocab
    assert vocab[0] == UNKNOWN and OTHER in vocab and "c" not in vocab  # rare value pooled
    new = pd.DataFrame({"bytes": [np.inf, -5.0, 1e308], "rate": [np.nan, 1.0, -np.inf], "svc": ["c", "zzz", "a"]})
    enc = pre.transform(new)
    assert np.isfinite(enc.x_num).all()
    assert enc.observed[0, 1] == 0 and enc.observed[1, 1] == 1
    # "c" was seen in training, rarely: pooled into <other>. "zzz" never was: <unknown>, with a fixed cost.
    assert enc.x_cat[:, 0].tolist() == [vocab.index(OTHER), vocab.index(UNKNOWN), vocab.index("a")]
    assert enc.unknown == {"svc": 1}
    svc = pre.categorical[0]
    assert enc.fixed[1, 2] == pytest.approx(svc.unknown_cost) and enc.novel[1, 2] and not enc.novel[0, 2]
    singletons = int((df["svc"].value_counts() == 1).sum())
    assert svc.unknown_cost == pytest.approx(-math.log((singletons + 1) / (500 + 2)))  # Good-Turing, add-one smoothed
    # JSON round trip gives the same transform.
    again = Preprocessor.from_dict(pre.to_dict()).transform(new)
    np.testing.assert_array_equal(again.x_num, enc.x_num)


def make_model(variant="vae", likelihood=None, dof=None):
    torch.manual_seed(0)
    return TabularAutoencoder(n_num=3, flag_index=[1], vocab_sizes=[4, 3], latent_dim=2, hidden=[16, 8], variant=variant,
                              likelihood=likelihood, dof=dof)


def batch(n=64):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 3, generator=g)
    obs = (torch.rand(n, 3, generator=g) > 0.1).float()
    cat = torch.stack([torch.randint(0, 4, (n,), generator=g), torch.randint(0, 3, (n,), generator=g)], dim=1)
    return x, obs, cat


def test_skew_that_decides_the_log_is_the_sample_skewness():
    from scipy.stats import skew

    from vaeguard.encode import _skews

    def _skew(v):
        return float(_skews(v[None, :])[0])

    rng = np.random.default_rng(0)
    for v in (rng.lognormal(size=10_000), rng.normal(size=10_000), np.array([0.0, 0.0, 1.0, 10.0]), -rng.exponential(size=500)):
        assert _skew(v) == pytest.approx(skew(v), rel=1e-12, abs=1e-12)
    assert _skew(np.full(5, 3.0)) == 0.0
    counts = pd.DataFrame({"bytes": np.round(rng.lognormal(6, 2, size=2_000)), "level": rng.normal(size=2_000)})
    prep = Preprocessor.fit(counts, infer_schema(counts))
    assert {c.name: c.log for c in prep.numeric} == {"bytes": True, "level": False}
    # A few -1 codes for "none" (CICFlowMeter's window sizes) leave a count as heavy-tailed: still log-scaled,
    # where it had been scaled as it was, its tail many scales out. A column often below zero is not.
    coded = counts.assign(bytes=np.where(np.arange(2_000) % 200 == 0, -1.0, counts["bytes"]),
                          swing=np.where(np.arange(2_000) % 10 == 0, -1.0, 1.0) * np.round(rng.lognormal(6, 2, size=2_000)))
    prep = Preprocessor.fit(coded, infer_schema(coded))
    assert {c.name: c.log for c in prep.numeric} == {"bytes": True, "level": False, "swing": False}


def test_centre_and_scale_of_a_long_column_come_from_an_even_sample_of_it(monkeypatch):
    import vaeguard.encode as encode

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"bytes": np.round(rng.lognormal(6, 2, size=50_000)), "level": rng.normal(3, 2, size=50_000)})
    specs = infer_schema(df)
    whole = {c.name: c for c in Preprocessor.fit(df, specs).numeric}
    monkeypatch.setattr(encode, "QUARTILE_ROWS", 2_000)
    sampled = {c.name: c for c in Preprocessor.fit(df, specs).numeric}
    for name, col in whole.items():
        assert sampled[name].center != col.center  # the sample was used...
        assert abs(sampled[name].center - col.center) < 0.05 * col.scale  # ...and a quartile of it is close
        assert sampled[name].scale == pytest.approx(col.scale, rel=0.05)
    monkeypatch.setattr(encode, "QUARTILE_ROWS", 50_000)  # a column no longer than that: every value
    assert {c.name: c for c in Preprocessor.fit(df, specs).numeric} == whole


def test_kl_closed_form_matches_monte_carlo():
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.7]])
    g = torch.Generator().manual_seed(0)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(200_000, 2, generator=g)
    log_q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    assert TabularAutoencoder.kl(mu, logvar).item() == pytest.approx((log_q - log_p).mean().item(), abs=0.01)


@pytest.mark.parametrize("dof", [1.0, 3.0])
def test_student_t_nll_is_the_student_t_density(dof):
    m = make_model(likelihood="student", dof=dof).eval()
    x, obs, cat = batch()
    decoded = m.decode(torch.zeros(x.shape[0], 2))
    mean, _, _, logvar = decoded
    nll = m.column_nll(decoded, x, obs, cat)
    ref = -torch.distributions.StudentT(dof, mean, torch.exp(0.5 * logvar)).log_prob(x) * obs
    np.testing.assert_allclose(nll[:, 0].detach(), ref[:, 0].detach(), rtol=1e-5, atol=1e-6)


def test_column_nll_is_a_real_likelihood():
    m = make_model(likelihood="gaussian").eval()
    x, obs, cat = batch()
    decoded = m.decode(torch.zeros(x.shape[0], 2))
    mean, flags, logits, _ = decoded
    nll = m.column_nll(decoded, x, obs, cat)
    assert nll.shape == (64, 5)
    var = torch.exp(m.num_logvar.clamp(min=math.log(0.01)))
    gauss = -torch.distributions.Normal(mean, var.sqrt()).log_prob(x) * obs
    bern = torch.nn.functional.binary_cross_entropy_with_logits(flags[:, 0], 1 - obs[:, 1], reduction="none")
    np.testing.assert_allclose(nll[:, 0].detach(), gauss[:, 0].detach(), rtol=1e-5)
    np.testing.assert_allclose(nll[:, 1].detach(), (gauss[:, 1] + bern).detach(), rtol=1e-5)
    # Categorical NLL is a cross-entropy over each column's own slice of logits, less its <unknown> entry
    # (index 0, whose probability is a fixed estimate outside the network: its rows cost 0 here).
    ce = torch.nn.functional.cross_entropy(logits[:, 5:7], (cat[:, 1] - 1).clamp(min=0), reduction="none")
    known = cat[:, 1] > 0
    np.testing.assert_allclose(nll[known, 4].detach(), ce[known].detach(), rtol=1e-5)
    assert (nll[~known, 4] == 0).all()


def test_importance_weighted_bound_is_tighter_and_batch_independent():
    m = make_model().eval()
    x, obs, cat = batch()
    eps1 = torch.randn(1, 2, generator=torch.Generator().manual_seed(3))
    eps64 = torch.randn(64, 2, generator=torch.Generator().manual_seed(3))
    # Averaged over many draws, the K=64 bound sits below the single-sample negative ELBO.
    s1 = torch.stack([m.score(x, obs, cat, eps=torch.randn(1, 2, generator=torch.Generator().manual_seed(i)))[0] for i in range(64)]).mean(0)
    s64, contrib = m.score(x, obs, cat, eps=eps64)
    assert (s64 <= s1 + 1e-4).float().mean() > 0.95
    assert contrib.shape == (64, 5)
    # A row's score does not depend on the other rows in its batch.
    alone = m.score(x[:5], obs[:5], cat[:5], eps=eps64)[0]
    np.testing.assert_allclose(alone.numpy(), s64[:5].numpy(), rtol=1e-5)
    assert m.score(x, obs, cat, eps=eps1)[0].shape == (64,)


@pytest.mark.parametrize("variant", ["vae", "ae", "dae", "sparse-ae"])
def test_every_variant_trains_without_nan(variant):
    m = make_model(variant)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    x, obs, cat = batch(256)
    x[0, 0] = 1e4  # an absurd value must not blow up training
    first = None
    for _ in range(50):
        loss = m.training_loss(x, obs, cat)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        first = first if first is not None else loss.item()
        assert torch.isfinite(loss)
    assert loss.item() < first


def test_calibration_threshold_and_p_values():
    scores = np.arange(1000, dtype=float)
    cal = Calibration.from_scores(scores, fpr=0.01)
    assert cal.flags(scores).sum() == 9  # at most 1% strictly above the threshold
    p = cal.p_values(np.array([-1.0, 500.0, 5000.0]))
    assert p[0] == pytest.approx(1.0) and p[1] == pytest.approx(501 / 1001) and p[2] == pytest.approx(1 / 1001)
    cal2 = Calibration.from_dict(cal.to_dict())
    assert cal2.threshold == cal.threshold and np.array_equal(cal2.scores, cal.scores)
    assert Calibration.from_scores(scores, contamination=0.1).mode == "contamination"


def test_small_calibration_sets_extrapolate_the_tail():
    """Fewer than 1 / fpr - 1 calibration rows: the highest score would be exceeded by 1 / (n + 1) of
    normal rows (4.5% for 21); the threshold goes beyond it, and fresh normal rows are flagged at about
    half that rate. From 99 rows on (fpr 0.01) the plain quantile is kept."""
    from vaeguard.calibrate import threshold_for

    rng = np.random.default_rng(0)
    at_max, extrapolated = [], []
    for _ in range(300):
        cal = np.sort(rng.gumbel(size=21))
        fresh = rng.gumbel(size=5000)
        t = threshold_for(cal, 0.01)
        assert t >= cal[-1]
        at_max.append((fresh > cal[-1]).mean())
        extrapolated.append((fresh > t).mean())
    assert np.mean(at_max) > 0.04 and np.mean(extrapolated) < 0.03
    big = np.sort(rng.gumbel(size=99))
    q = np.quantile(big, 0.99, method="higher")
    assert q < threshold_for(big, 0.01) == pytest.approx(q, rel=2e-5)  # the quantile, above its rounding
    assert 3.0 < threshold_for(np.array([3.0]), 0.01) == pytest.approx(3.0, rel=2e-5)  # one score: nothing to fit a tail to


def test_rows_that_tie_at_the_threshold_flag_alike_wherever_they_are_scored():
    """A third of a firewall log's rows scored alike to the last bit, and the threshold was their score;
    the same rows scored on a GPU came out 1e-6 higher, and every one of them was flagged. Scores within
    float32 rounding of the threshold are not above it, and their p-values are those of the exact score."""
    from vaeguard.calibrate import Calibration

    cal = Calibration.from_scores(np.r_[np.full(700, 2.880286), np.full(300, 6.140403)], fpr=0.01)
    elsewhere = 6.140403 * (1 + np.array([-3e-7, 0.0, 3e-7, 1e-6]))  # the same rows, another machine's sums
    assert cal.flags(elsewhere).tolist() == [0, 0, 0, 0]
    assert len(set(cal.p_values(elsewhere))) == 1 and cal.p_values(elsewhere)[0] == pytest.approx(301 / 1001)
    assert cal.flags(np.array([6.15, 7.0])).tolist() == [1, 1]  # a score really above is still flagged


def test_small_tables_calibrate_on_folds_until_ten_rows_lie_above_the_threshold():
    from vaeguard.detector import MIN_FIT_ROWS, calibration_folds

    perm = np.random.default_rng(0).permutation(211)
    folds = calibration_folds(perm, 21, 0.01)
    assert len(folds) == 9 and all(19 <= len(f) <= 22 for f in folds)
    covered = np.sort(np.concatenate([perm[:21], *folds]))
    np.testing.assert_array_equal(covered, np.arange(211))  # every row held out once
    assert calibration_folds(perm, 21, 0.5) == []  # ten of 21 rows lie above a 50% threshold
    assert calibration_folds(np.arange(10_000), 1000, 0.01) == []
    assert calibration_folds(np.arange(100_000), 10_000, 0.0001) == []  # not kept for parts: a larger --val-fraction
    assert len(calibration_folds(np.arange(99_990), 9_999, 0.0001)) == 9
    # 200 held-out rows hold two above a 1% threshold: parts of their size until a thousand rows hold ten.
    some = calibration_folds(np.arange(2000), 200, 0.01)
    assert [len(f) for f in some] == [200] * 4 and len(np.unique(np.concatenate(some))) == 800
    assert [len(f) for f in calibration_folds(np.arange(1000), 100, 0.05)] == [100]  # 200 rows hold ten above 5%
    tiny = calibration_folds(np.arange(6), 1, 0.01)
    assert all(6 - len(f) >= MIN_FIT_ROWS for f in tiny)
    # --val-fraction 0.01 holds out 50 of 5,000 rows: larger parts (a ninth of the rest), not 99 of 50.
    wide = calibration_folds(np.arange(5000), 50, 0.01)
    assert [len(f) for f in wide] == [550, 550]


def test_fold_models_leave_the_model_itself_alone():
    """The folds only move the threshold: the model and its scores are those of a fit without them."""
    from vaeguard.detector import Detector

    df = make_flows(300, seed=2).drop(columns=["id"])
    folded = Detector(epochs=3, seed=0, device="cpu").fit(df)
    plain = Detector(epochs=3, seed=0, device="cpu", fpr=0.4).fit(df)  # 12 of 30 held-out rows above it
    assert folded.calibration_.folds == 10 and len(folded.calibration_.scores) == 300
    assert plain.calibration_.folds == 1 and len(plain.calibration_.scores) == 30
    np.testing.assert_array_equal(folded.anomaly_score(df), plain.anomaly_score(df))


def test_fold_models_in_forked_processes_score_as_one_after_another(monkeypatch):
    """The parts' models train side by side in processes of their own where they can: the same scores, so
    the same threshold, as trained one after another here (as --threads 1 and a one-CPU machine do)."""
    import vaeguard.detector as detector_module
    from vaeguard.detector import Detector

    df = make_flows(300, seed=2).drop(columns=["id"])
    monkeypatch.setattr(detector_module, "fork_workers", lambda tasks, bytes_each: 0)
    here = Detector(epochs=3, seed=0, device="cpu").fit(df)
    monkeypatch.setattr(detector_module, "fork_workers", lambda tasks, bytes_each: 2)
    heard = []
    forked = Detector(epochs=3, seed=0, device="cpu").fit(df, on_calibration=lambda done, folds: heard.append((done, folds)))
    assert heard == [(done, 9) for done in range(10)]
    np.testing.assert_array_equal(forked.calibration_.scores, here.calibration_.scores)
    assert forked.calibration_.threshold == here.calibration_.threshold


def test_forked_map_keeps_order_runs_elsewhere_and_finishes_what_a_lost_process_left():
    import multiprocessing
    import os
    import time

    from vaeguard.parallel import ForkedMap

    def run(work, tasks, workers, on_done=None):
        with ForkedMap(work, tasks, workers) as forked:
            return forked.results(on_done)

    parent = os.getpid()
    heard = []
    # A closure: the processes inherit the work, nothing of it is pickled.
    out = run(lambda k: (k * k, os.getpid()), 5, 2, lambda done, tasks: heard.append((done, tasks)))
    assert [value for value, _ in out] == [0, 1, 4, 9, 16]
    assert parent not in {pid for _, pid in out}
    assert heard == [(done, 5) for done in range(1, 6)]

    def dies_elsewhere(k):  # a process killed for its memory ends as abruptly
        if os.getpid() != parent:
            os._exit(1)
        return k

    assert run(dies_elsewhere, 3, 2) == [0, 1, 2]  # done here instead

    def fails(k):
        if k == 1:
            raise ValueError("part 1 failed")
        return k

    with pytest.raises(ValueError, match="part 1 failed"):
        run(fails, 4, 2)
    assert multiprocessing.active_children() == []
    # Leaving the block early (Ctrl-C while the model itself trains) stops the processes, unwaited for.
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with ForkedMap(lambda k: time.sleep(60), 2, 2) as forked:
            assert forked.forked
            raise KeyboardInterrupt
    assert time.monotonic() - start < 30 and multiprocessing.active_children() == []
    assert run(lambda k: os.getpid(), 2, 0) == [parent, parent]  # no processes: here


def test_forked_map_works_here_where_processes_cannot_be_had(monkeypatch):
    import concurrent.futures
    import os

    from vaeguard.parallel import ForkedMap

    def no_semaphores(*args, **kwargs):  # a container without /dev/shm
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_semaphores)
    with ForkedMap(lambda k: (k, os.getpid()), 3, 2) as forked:
        assert not forked.forked
        assert forked.results() == [(k, os.getpid()) for k in range(3)]


def test_fork_workers_are_bounded_by_the_cpus_and_the_memory_budget(monkeypatch):
    import vaeguard.parallel as parallel

    monkeypatch.setattr(parallel, "worker_count", lambda: 8)
    assert parallel.fork_workers(5, 1 << 20) == 5
    assert parallel.fork_workers(9, 1 << 20) == 8
    assert parallel.fork_workers(9, 160 << 20) == 3  # 512 MiB hold three of 160 MiB
    assert parallel.fork_workers(9, 300 << 20) == 1  # one process beside this one
    assert parallel.fork_workers(9, 600 << 20) == 0  # here
    assert parallel.fork_workers(1, 1) == 1
    monkeypatch.setattr(parallel, "worker_count", lambda: 1)  # --threads 1, a quota of one CPU
    assert parallel.fork_workers(9, 1) == 0


def test_top_features_orders_by_excess():
    excess = np.array([[0.1, 5.0, 2.0, -1.0], [9.0, 0.0, 0.5, 3.0]])
    assert list(top_features(excess, ["a", "b", "c", "d"])) == ["b;c;a", "a;d;c"]
    assert list(top_features(excess[:, :2], ["a", "b"])) == ["b;a", "a;b"]


def test_auto_epochs_scale_with_rows():
    assert auto_epochs(100, 256) == 200
    assert auto_epochs(1_000_000, 256) == 10
    assert auto_epochs(30_000, 256) > auto_epochs(1_000_000, 256)


def test_prefetch_keeps_order_raises_errors_and_stops_when_abandoned():
    import threading
    import time

    from vaeguard.io import prefetch

    assert list(prefetch(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise ValueError("bad block")

    got = []
    with pytest.raises(ValueError, match="bad block"):
        for x in prefetch(failing()):
            got.append(x)
    assert got == [1]

    gen = prefetch(iter(range(10**9)))
    assert next(gen) == 0
    gen.close()  # the consumer gives up early: the producer thread must not hang on a full queue
    deadline = time.time() + 5
    while any(t.name == "vaeguard-prefetch" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "vaeguard-prefetch" for t in threading.enumerate())

    # Given up on mid-read, close() returns only once the producer has closed its source (a file that
    # pyarrow's threads read must not be open when the interpreter exits).
    closed = threading.Event()

    def slow_reader():
        try:
            for i in range(10**9):
                time.sleep(0.05)  # a chunk being parsed
                yield i
        finally:
            closed.set()

    gen = prefetch(slow_reader(), depth=4)
    assert next(gen) == 0
    gen.close()
    assert closed.is_set() and not gen._thread.is_alive()


def test_default_batch_grows_only_for_large_tables():
    from vaeguard.train import BASE_BATCH, auto_batch_size

    assert auto_batch_size(50_000) == BASE_BATCH
    assert auto_batch_size(100_000) == 2 * BASE_BATCH
    # the larger batch keeps the epochs of the base one: same rows seen, half the steps
    assert auto_epochs(150_000, BASE_BATCH) == auto_epochs(150_000, 1024)


def test_columns_prepared_on_threads_match_one_thread():
    """Roles, scaling statistics, vocabularies and encoded inputs do not depend on the thread count, and
    a failure is the one the plain loop would raise first."""
    import pyarrow as pa

    from vaeguard.errors import InputError
    from vaeguard.parallel import thread_map

    rng = np.random.default_rng(3)
    n = 40_000
    df = pd.DataFrame({f"n{j}": rng.lognormal(j % 5, 1 + j % 3, n).round(j % 2) for j in range(12)})
    df["svc"] = rng.choice(["dns", "http", "ssh", "ntp"], n)
    df["dport"] = rng.choice([53, 80, 443, 40001], n)
    df["ts"] = 1.7e9 + np.arange(n, dtype=float)
    rows = np.sort(rng.permutation(n)[: n - 4000])
    before = pa.cpu_count()
    try:
        out = {}
        for threads in (1, 2, 4):
            pa.set_cpu_count(threads)
            specs = infer_schema(df)
            pre = Preprocessor.fit(df, specs, rows=rows)
            out[threads] = ([s.__dict__ for s in specs], pre.to_dict(), pre.network_inputs(df, rows, chunk=3000))
        for threads in (2, 4):
            assert out[threads][:2] == out[1][:2]
            assert all(np.array_equal(a, b) for a, b in zip(out[threads][2], out[1][2]))

        pa.set_cpu_count(2)
        assert thread_map(lambda x: x * x, range(100)) == [x * x for x in range(100)]

        def fail_on_odd(x):
            if x % 2:
                raise InputError(f"bad {x}")
            return x

        with pytest.raises(InputError, match="bad 1$"):
            thread_map(fail_on_odd, range(10))
    finally:
        pa.set_cpu_count(before)


def test_importing_vaeguard_asks_mkl_for_reproducible_results_unless_told_otherwise():
    import os
    import subprocess
    import sys

    code = "import os, vaeguard; print(os.environ.get('MKL_CBWR'))"
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert got == "AUTO"
    env["MKL_CBWR"] = "COMPATIBLE"
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert got == "COMPATIBLE"


def test_column_work_threads_are_bounded_by_memory_not_cores(monkeypatch):
    # A fit's memory must not grow with the machine's cores: each column thread holds copies of a column.
    from vaeguard import parallel

    monkeypatch.setattr(parallel, "worker_count", lambda: 64)
    assert parallel.column_workers(1_000_000, copies=6) * 6 * 8 * 1_000_000 <= parallel.COLUMN_MEMORY_BUDGET
    assert parallel.column_workers(1_000_000, copies=6) >= 1 and parallel.column_workers(50_000_000, copies=6) == 1
    assert parallel.column_workers(10_000, copies=6) == 64
    # Work in pandas on short columns stays on one thread: the GIL is held between numpy's short calls.
    assert parallel.pandas_column_workers(10_000, copies=6) == 1 and parallel.pandas_column_workers(100_000, copies=6) == 20


def test_validation_loss_draws_the_same_noise_and_leaves_the_training_noise_alone():
    from vaeguard.train import evaluate_loss

    net = TabularAutoencoder(4, [1], [3], 2, [8], "vae")
    rows = (torch.randn(50, 4), torch.ones(50, 4), torch.randint(1, 3, (50, 1)))
    torch.manual_seed(0)
    expected = torch.randn(3)
    torch.manual_seed(0)
    first = evaluate_loss(net, rows)
    assert torch.equal(torch.randn(3), expected)  # the training noise goes on where it was
    assert evaluate_loss(net, rows) == first


def test_a_command_in_its_own_process_pauses_the_collector_while_loading_and_turns_it_back_on(monkeypatch):
    import gc

    from vaeguard import cli_common

    assert gc.isenabled()
    frozen = gc.get_freeze_count()  # not always 0: on Python 3.12 the suite's process had 375 objects frozen here
    cli_common.pause_gc()
    cli_common.freeze_imports()
    assert gc.isenabled() and gc.get_freeze_count() == frozen  # in a test's process: nothing changes
    monkeypatch.setattr(cli_common, "OWN_PROCESS", True)
    try:
        cli_common.pause_gc()
        assert not gc.isenabled()
        cli_common.freeze_imports()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_format_guess_reads_the_first_characters():
    from vaeguard.sources import _guess_text_format

    # A header whose first name has a digit second ("f00", "a1") is a CSV; a JSON array holds records,
    # numbers, strings or arrays; Zeek's TSV starts with its #separator or #fields line.
    assert [_guess_text_format(t) for t in ("f00,f01\n1,2\n", "a1;b2\n", "[a],b\n1,2\n")] == ["csv"] * 3
    assert [_guess_text_format(t) for t in ('{"a": 1}\n', '[{"a": 1}]', "[1, 2]", "[ ]", ' [\n  ["x"]]')] == ["json"] * 5
    assert _guess_text_format("#separator \\x09\n#fields\tts\n") == "zeek"


@pytest.mark.parametrize("k,n,p", [(1200, 200_000, 0.0157), (3140, 200_000, 0.0157), (3500, 200_000, 0.0157), (50_000, 5_000_000, 0.02),
                                   (5, 100, 0.01), (30, 1000, 0.01), (0, 10, 0.1)])
def test_drift_binomial_tail_is_exact_on_quiet_and_loud_runs(k, n, p):
    """P(X >= k) against scipy's. A large run flagging fewer rows than expected (k below the mode) summed
    growing terms and raised OverflowError after its output was written (200,000 rows at 0.6% of 1.6%)."""
    from scipy.stats import binom

    from vaeguard.drift import binomial_tail

    assert binomial_tail(k, n, p) == pytest.approx(binom.sf(k - 1, n, p), rel=1e-8, abs=1e-300)


def test_flagged_rows_by_host_are_summed_over_chunks_and_bounded(monkeypatch):
    """Each host's rows and flagged rows, summed over chunks as scoring reports them, equal the whole
    table's; a gap names no host; past HOSTS_KEPT hosts the ones with the most flagged rows stay, and the
    column is marked partial."""
    from vaeguard import hosts as hosts_module
    from vaeguard.drift import flagged_hosts
    from vaeguard.scoring import ChunkReport

    rng = np.random.default_rng(0)
    n = 5000
    df = pd.DataFrame({"src": rng.choice([f"10.0.0.{i}" for i in range(30)] + [None], n), "bytes": rng.integers(0, 9, n)})
    flags = (rng.random(n) < 0.05).astype(np.int8)
    flags[df["src"].eq("10.0.0.7").to_numpy()] = 1  # one host's every row
    monkeypatch.setattr(hosts_module, "SUM_AT", 64)  # summed along the way, not only at the end
    report = ChunkReport()
    for start in range(0, n, 700):
        part = slice(start, start + 700)
        report.add(ChunkReport(hosts=hosts_module.tally_hosts(df.iloc[part], ["src", "missing"], flags[part])))
    top, counted, partial = flagged_hosts(report.hosts, 0.05, shown=5)
    truth = pd.DataFrame({"src": df["src"], "f": flags}).dropna().groupby("src")["f"].agg(["size", "sum"])
    truth = truth.sort_values(["sum", "size"], ascending=[False, True])
    assert [(h["host"], h["rows"], h["flagged"]) for h in top["src"]] == list(zip(truth.index[:5], truth["size"][:5], truth["sum"][:5]))
    assert top["src"][0]["host"] == "10.0.0.7" and top["src"][0]["p_value"] < 1e-100 and top["src"][1]["p_value"] > 1e-3
    assert counted == {"src": int((truth["sum"] > 0).sum())} and partial == []
    # The drift test on each host's rows, its level shared among the 30 hosts: only the host whose every row was flagged.
    from vaeguard.drift import drifting_hosts

    assert [(h["column"], h["host"]) for h in drifting_hosts(report.hosts, 0.05)] == [("src", "10.0.0.7")]
    assert drifting_hosts(report.hosts, 0.999) == []
    # A host whose own calibration rows were flagged as often (an NTP server the model fits worse) is judged
    # against its own rate; a few calibration rows say little of it, so its rate's interval is wide.
    assert drifting_hosts(report.hosts, 0.05, baselines={"src": {"10.0.0.7": [300, 290]}}, p0=0.04) == []
    assert drifting_hosts(report.hosts, 0.05, baselines={"src": {"10.0.0.7": [300, 3]}}, p0=0.04)[0]["host"] == "10.0.0.7"
    # A handful of calibration rows with no flag says little of a host: it is judged as any host is (alone,
    # they put its rate's top at a half, and a host every row of which was flagged went unnamed below it).
    assert drifting_hosts(report.hosts, 0.05, baselines={"src": {"10.0.0.7": [3, 0]}}, p0=0.04)[0]["host"] == "10.0.0.7"
    from vaeguard.drift import host_rate

    assert 0.03 <= host_rate({"src": {"h": [7, 0]}}, "src", "h", 0.03, 0.01) < 0.04  # near the calibrated top, not a half
    assert host_rate({"src": {"h": [500, 50]}}, "src", "h", 0.03, 0.01) == pytest.approx(51 / 600 + 3 * math.sqrt(51 / 600 * (1 - 51 / 600) / 600))
    assert drifting_hosts(report.hosts, 0.05, baselines={"other": {"10.0.0.7": [300, 290]}})[0]["host"] == "10.0.0.7"
    # As a manifest keeps them, checked on loading.
    from vaeguard.errors import CheckpointError
    from vaeguard.manifest import _host_baselines

    assert _host_baselines({"src": {"10.0.0.7": [300, 290]}}) == {"src": {"10.0.0.7": [300, 290]}} and _host_baselines({}) == {}
    for bad in ([1], {"src": {"h": [3, 5]}}, {"src": {"h": [3]}}, {"src": {"h": [3.5, 1]}}, {"src": ["h"]}):
        with pytest.raises(CheckpointError, match="host_baselines"):
            _host_baselines(bad)
    # More hosts than are kept: the busiest flagged ones stay, counted in full where they were kept throughout.
    monkeypatch.setattr(hosts_module, "HOSTS_KEPT", 10)
    many = pd.DataFrame({"src": [f"h{i}" for i in range(200)] * 3})
    hit = np.zeros(600, np.int8)
    hit[[5, 205, 405, 17]] = 1
    report = ChunkReport()
    for start in range(0, 600, 100):
        report.add(ChunkReport(hosts=hosts_module.tally_hosts(many.iloc[start : start + 100], ["src"], hit[start : start + 100])))
    top, counted, partial = flagged_hosts(report.hosts, 0.02)
    assert top["src"][0] == {"host": "h5", "rows": 3, "flagged": 3, "p_value": pytest.approx(0.02**3)} and partial == ["src"]


def test_a_cut_compressed_head_gives_all_it_decompressed():
    """The head of a compressed stream, cut where the peek ends, decompressed for the format's guess: every
    step the decompressor finished is kept, the last one before the cut too (a read of many steps that met
    the cut dropped them all)."""
    import gzip
    import io
    import lzma

    from vaeguard.streams import _read_partial, open_compressed

    data = ("a,b\n" + "".join(f"{i},{i * 7}\n" for i in range(200_000))).encode()
    for codec, compress in (("gzip", gzip.compress), ("xz", lzma.compress)):
        with open_compressed(codec, io.BytesIO(compress(data)[:65536])) as f:
            part = _read_partial(f)
        with open_compressed(codec, io.BytesIO(compress(data)[:65536])) as f:
            whole_steps = bytearray()
            try:
                while chunk := f.read(4096):
                    whole_steps += chunk
            except EOFError:
                pass
        assert data.startswith(part) and len(part) > len(whole_steps) > 0


def test_json_array_head_keeps_each_record_whole():
    """The records a JSON array's peeked text begins with, one per line, for its column hints: a record
    whose string holds a line separator (U+2028, \\x85) as it is stays one line, a pretty-printed record's
    line breaks become spaces, the record the peek cuts is left out, and at most 50 are taken."""
    from vaeguard.sources import json_array_head

    records = [{"note": "a\u2028b\x85c", "bytes": 1}, {"note": "plain", "bytes": 2}]
    head = json_array_head(json.dumps(records, indent=2, ensure_ascii=False) + ', {"note": "cu')
    assert [json.loads(line) for line in head.split("\n")] == records
    many = json_array_head(json.dumps([{"n": i} for i in range(80)]))
    assert [json.loads(line)["n"] for line in many.split("\n")] == list(range(50))


def test_manifest_text_writes_long_lists_of_numbers_on_one_line():
    """The manifest stays indented JSON, one key a line, with the calibration scores (100,000 of them for a
    large table) on one line: the same values as json's own indented text, which gave each score a line."""
    from vaeguard.checkpoint import LONG_LIST, jsonable, manifest_text

    scores = [float(i) / 7 for i in range(1000)]
    manifest = {"calibration": {"scores": scores, "threshold": 1.5}, "schema": [{"name": "@vaeguard-numbers-0@"}],
                "scoring": {"baselines": [0.5] * (LONG_LIST + 1), "short": [1, 2], "gaps": [1.0, float("nan")] * LONG_LIST,
                            "flags": [True] * (LONG_LIST + 1)}}
    plain = json.dumps(jsonable(manifest), indent=1, allow_nan=False)
    manifest["schema"][0]["name"] = "bytes"
    text = manifest_text(manifest)
    assert json.loads(text) == json.loads(json.dumps(jsonable(manifest), indent=1, allow_nan=False))
    lines = text.splitlines()
    assert '  "scores": ' + json.dumps(scores) + "," in lines and len(lines) < 100  # one line, not 1,000
    assert '  "baselines": ' + json.dumps([0.5] * (LONG_LIST + 1)) + "," in lines
    assert json.loads(text)["scoring"]["gaps"][1] is None  # a NaN is still written as null, indented as before
    manifest["schema"][0]["name"] = "@vaeguard-numbers-0@"  # a value spelled like the writer's mark: the plain text
    assert manifest_text(manifest) == plain


def test_respelled_values_are_training_values_but_for_case_and_spaces_and_never_a_zeek_history():
    from types import SimpleNamespace

    from vaeguard.drift import respelled
    from vaeguard.encode import CategoricalColumn
    from vaeguard.schema import ColumnSpec

    cats = [CategoricalColumn("proto", [UNKNOWN, "tcp", "udp"]), CategoricalColumn("history", [UNKNOWN, "ShAD"]),
            CategoricalColumn("history:S", [UNKNOWN, "0", "1"], derive="letter:S", source="history")]
    detector = SimpleNamespace(preprocessor_=SimpleNamespace(categorical=cats), schema_=[ColumnSpec("history", "categorical", "", "history")])
    new = {"proto": {"TCP": 3, " udp ": 2, "sctp": 1}, "history": {"shad": 2}}
    assert respelled(detector, new) == {"proto": {"TCP": "tcp", " udp ": "udp"}}
    assert respelled(detector, {}) == {} and respelled(detector, None) == {}


def test_a_small_step_trains_on_one_thread_and_the_caller_keeps_its_threads():
    from vaeguard.train import ONE_THREAD_STEP, TrainConfig, step_threads, train

    small = TabularAutoencoder(4, [1], [3], 2, [8], "vae")
    wide = TabularAutoencoder(200, [], [], 2, [8], "vae")
    cpu = torch.device("cpu")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert step_threads(small, 1024, cpu) == 1
        assert step_threads(wide, 1024, cpu) == 2 and 1024 * 200 >= ONE_THREAD_STEP
        rows = (torch.randn(64, 4), torch.ones(64, 4), torch.randint(1, 3, (64, 1)))
        seen = []
        train(small, rows, rows, TrainConfig(epochs=2, batch_size=32), torch.Generator().manual_seed(0),
              on_epoch=lambda record, epochs: seen.append(torch.get_num_threads()))
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_training_short_of_its_threads_cpus_is_told_to_take_one():
    from vaeguard.history import TrainResult
    from vaeguard.train import TrainConfig, crowded_warning, train

    # What train records, on the threads it trained on.
    small = TabularAutoencoder(4, [1], [3], 2, [8], "vae")
    rows = (torch.randn(64, 4), torch.ones(64, 4), torch.randint(1, 3, (64, 1)))
    result = train(small, rows, rows, TrainConfig(epochs=2, batch_size=32), torch.Generator().manual_seed(0))
    assert result.threads == 1 and result.seconds > 0 and result.cpu_seconds > 0
    assert crowded_warning(result) is None  # one thread waits for no other

    def ran(threads, seconds, cpu_seconds):
        return crowded_warning(TrainResult(threads=threads, seconds=seconds, cpu_seconds=cpu_seconds))

    crowded = ran(2, 38.0, 38.1)  # two 1M-row fits at once on two cores: each process about one CPU (measured)
    assert crowded and "took 38 s on about 1.0 of the 2 CPUs" in crowded and "--threads 1" in crowded
    assert ran(2, 3.7, 7.4) is None and ran(2, 60.0, 118.0) is None  # alone: spinning threads keep their CPUs
    assert ran(2, 60.0, 75.0) is None and ran(2, 60.0, 70.0)  # the line: 60% of the threads' CPUs
    assert ran(16, 60.0, 400.0)  # a 16-core machine mostly busy elsewhere
    assert ran(2, 3.0, 1.5) is None  # too short to matter
    assert ran(0, 60.0, 1.0) is None  # not trained here (a loaded model, or on a GPU)


def test_every_package_folder_is_in_the_install():
    """A wheel holds the packages pyproject.toml names: a new folder of modules left out of it would import
    in a checkout (and an editable install) and fail in `pip install .` and the Docker image."""
    import fnmatch
    from pathlib import Path

    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = config["packages"]  # a list of names, or {"find": {"include": [patterns]}}
    include = packages["find"]["include"] if isinstance(packages, dict) else packages
    folders = [".".join(p.parent.relative_to(root).parts) for p in (root / "vaeguard").rglob("__init__.py")]
    assert len(folders) >= 2  # vaeguard and vaeguard.logs
    missing = [f for f in folders if not any(fnmatch.fnmatchcase(f, pattern) for pattern in include)]
    assert not missing, f"packages left out of the install: {missing}"


def test_the_report_shows_counts_and_times_whole_and_gaps_as_gaps():
    """Counts read with gaps are floats: the report's table shows 13,115 bytes and an epoch time as written,
    not '1.312e+04' and '1.545e+09', and a gap as the model names one."""
    from vaeguard.evaluate import report_value

    assert report_value(13115.0) == "13115"
    assert report_value(1545403816.067208) == "1545403816.067208"
    assert report_value(48976.819063) == "48976.819063"
    assert report_value(np.float32(2.0)) == "2"
    assert report_value(4.017345) == "4.017" and report_value(0.0142) == "0.0142"
    assert report_value(float("nan")) == report_value(np.float32("nan")) == report_value(None) == report_value(pd.NA) == MISSING
    assert report_value("tcp") == "tcp" and report_value(6667) == "6667"


def test_a_dns_names_shape():
    """Each part as a flow analyst would count it: the trailing dot and case do not count, a gap has none."""
    from vaeguard.shapes import shapes

    s = pd.Series(["www.Example.com.", None, "a1b2.c", "www.example.com"], dtype="string[pyarrow]")
    got = shapes("domain", s)
    assert list(got["length"][[0, 2, 3]]) == [15, 6, 15] and list(got["labels"][[0, 2]]) == [3, 2]
    assert got["longest"][0] == 7 and got["digits"][2] == 2 / 5 and got["digits"][0] == 0
    assert got["entropy"][0] == got["entropy"][3] > 0  # one name, however written
    assert all(np.isnan(got[part][1]) for part in got)


def test_a_urls_shape():
    """A path's depth, a query's parameters, and the symbols encoding and injection are made of (a query's own
    ? = & are not among them); a whole URL's scheme and host are not its path."""
    from vaeguard.shapes import shapes

    got = shapes("url", pd.Series(["/index.html", "/a/b/c.php?id=1&x=2", "http://ex.com/p?q=%27%20OR%201=1--", None, "/"]))
    assert list(got["depth"][[0, 1, 2, 4]]) == [1, 3, 1, 1] and list(got["params"][[0, 1, 2]]) == [0, 2, 1]
    assert got["symbols"][1] == 0 and got["symbols"][2] == 4 / 34 and got["length"][2] == 34
    assert np.isnan(got["entropy"][3]) and got["entropy"][4] == 0


def test_unused_labels_reads_a_label_column_as_evaluate_does():
    from vaeguard.evaluate import unused_labels

    df = pd.DataFrame({"x": range(8), "Label": ["BENIGN"] * 5 + ["DDoS"] * 3, "detailed-label": ["-"] * 5 + ["C&C"] * 3})
    assert unused_labels(df, None) == ("Label", 3)
    assert unused_labels(df, {"Label": "categorical"}) is None  # the user made it a feature
    assert unused_labels(df.assign(Label="BENIGN"), None) is None  # every row normal
    assert unused_labels(df[["x", "detailed-label"]], None) is None  # no value says which is normal
    assert unused_labels(pd.DataFrame({"is_attack": [0, 0, 1, 0]}), None) == ("is_attack", 1)
    assert unused_labels(pd.DataFrame({"y": [0, 1, 1]}), None) is None  # not a label by its name alone
    assert unused_labels(pd.DataFrame({"labels": [np.array(["a"]), np.array(["b"])]}), None) is None  # lists say nothing of normal
