"""The fast paths for large files give exactly what the plain paths give: Arrow parsing and lookups in
the encoder, chunked encoding for training, the in-place likelihood, the sampled read, a CSV read in parts
on several threads, the pipelined score."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

from vaeguard.encode import CategoricalColumn, Preprocessor, _label_counts, column_labels
from vaeguard.model import TabularAutoencoder
from vaeguard.schema import infer_schema
from vaeguard.scoring import top_features


def mixed_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "bytes": rng.lognormal(8, 2, n).round(),
        "rate": rng.normal(0, 1, n),
        "gappy": np.where(rng.random(n) < 0.1, np.nan, rng.normal(5, 1, n)),
        "proto": rng.choice(["tcp", "udp", "icmp"], n, p=[0.7, 0.29, 0.01]),
        "service": rng.choice([f"s{i}" for i in range(30)] + [None], n),
        # true/false with gaps, as Arrow hands a CSV or JSON flag to pandas: objects, not a bool dtype
        "syn": rng.choice(np.array([True, False, None], dtype=object), n),
    })
    return df


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """The table as the scoring path reads it: every field an Arrow-backed string, gaps as nulls."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    text = pa.table({c: table.column(c).cast(pa.string()) for c in table.column_names})
    return text.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)


def test_arrow_text_encoding_equals_the_typed_encoding():
    df = mixed_table()
    pre = Preprocessor.fit(df, infer_schema(df))
    scoring = mixed_table(500, seed=1)
    scoring.loc[3, "proto"] = "sctp"  # unseen
    scoring.loc[4, "rate"] = np.nan  # a gap where training had none
    scoring.loc[[5, 6], "proto"] = None  # a gap in text where training had none: a gap, not a new value
    typed, text = pre.transform(scoring), pre.transform(as_text(scoring))
    for name in ("x_num", "observed", "x_cat", "fixed", "novel"):
        assert np.array_equal(getattr(typed, name), getattr(text, name)), name
    assert typed.novel[[3, 5, 6]].any(axis=1).all()  # charged as a value training never held, all three
    assert typed.unknown == text.unknown == {"proto": 1}
    assert typed.new_missing == text.new_missing == {"rate": 1, "proto": 2}
    assert typed.new_values == text.new_values == {"proto": {"sctp": 1}}


def test_text_in_a_numeric_column_still_counts_as_malformed_on_the_arrow_path():
    df = mixed_table()
    pre = Preprocessor.fit(df, infer_schema(df))
    scoring = as_text(mixed_table(200, seed=2))
    scoring["rate"] = scoring["rate"].astype(object)
    scoring.loc[5, "rate"] = "n/a"
    scoring["rate"] = scoring["rate"].astype(pd.StringDtype("pyarrow"))
    enc = pre.transform(scoring)
    assert enc.malformed == {"rate": 1} and enc.novel[5, 1] and enc.fixed[5, 1] > 0


def test_fit_on_rows_and_chunked_inputs_equal_fit_on_a_copy():
    df = mixed_table(5000)
    specs = infer_schema(df)
    rows = np.sort(np.random.default_rng(3).permutation(len(df))[:4000])
    a = Preprocessor.fit(df.iloc[rows], specs)
    b = Preprocessor.fit(df, specs, rows=rows)
    assert a.to_dict() == b.to_dict()
    whole = a.transform(df.iloc[rows])
    x_num, observed, x_cat = b.network_inputs(df, rows, chunk=333)
    assert np.array_equal(whole.x_num, x_num) and np.array_equal(whole.observed, observed) and np.array_equal(whole.x_cat, x_cat)
    assert observed.dtype == np.uint8 and x_cat.dtype == np.int16
    # The rows are read from slices of the table: rows that start and end inside it, and a chunk larger than them.
    inner = rows[100:-100]
    for chunk in (333, 10_000):
        assert np.array_equal(b.network_inputs(df, inner, chunk=chunk)[0], x_num[100:-100])
    with pytest.raises(ValueError):
        b.network_inputs(df, rows[::-1])
    # The training rows' encoding leaves out the evidence terms outside the network, and only them.
    inputs = b.transform(df.iloc[rows], network_only=True)
    assert all(np.array_equal(getattr(whole, k), getattr(inputs, k)) for k in ("x_num", "observed", "x_cat"))
    assert inputs.fixed.shape == inputs.novel.shape == (len(rows), 0) and whole.fixed.shape[1] > 0


def numbers_table(n: int, seed: int) -> pd.DataFrame:
    """Columns in numpy's dtypes, as a wide table's are: heavy tails, negatives, gaps, counts, flags and codes."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "heavy": rng.lognormal(0, 2, n), "signed": rng.normal(size=n), "gappy": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(size=n)),
        "count": rng.poisson(3, n), "big": rng.choice([1, 2, 3, 10**17], n), "flag": rng.random(n) < 0.3,
        "code": rng.choice([0, 7], n), "half": rng.choice([0.0, 0.5, np.nan], n), "huge": rng.choice([0.0, 1.0, np.inf, -np.inf], n),
    })


@pytest.mark.parametrize("rows", [None, "some"])
def test_columns_in_numpys_dtypes_fit_and_encode_as_through_pandas(rows):
    # Numbers in numpy's dtypes take a path of their own (a short table's numeric columns fitted as one block,
    # flags and codes labelled without a pandas Series): the same model as Arrow's dtypes, which take pandas'.
    df = numbers_table(700, seed=8)
    specs = infer_schema(df)
    assert {s.role for s in specs} == {"numeric", "categorical"}
    picked = None if rows is None else np.sort(np.random.default_rng(9).permutation(len(df))[:500])
    arrow = df.convert_dtypes(dtype_backend="pyarrow")
    assert not any(isinstance(t, np.dtype) for t in arrow.dtypes)
    fast, plain = Preprocessor.fit(df, specs, rows=picked), Preprocessor.fit(arrow, specs, rows=picked)
    assert fast.to_dict() == plain.to_dict()
    scoring = numbers_table(300, seed=10)
    scoring.loc[:4, "code"] = 3  # a code training never held
    scoring["flag"] = scoring["flag"].astype(int)  # a flag read back as 1 and 0
    a, b = fast.transform(scoring), fast.transform(scoring.convert_dtypes(dtype_backend="pyarrow"))
    for name in ("x_num", "observed", "x_cat", "fixed", "novel"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.unknown == b.unknown and a.new_values == b.new_values and a.new_values["code"] == {"3": 5}


def test_label_counts_break_ties_as_pandas_does():
    rng = np.random.default_rng(4)
    for _ in range(50):
        k = int(rng.integers(2, 30))
        values = np.array([f"v{i}" for i in range(k)] + [None], dtype=object)
        s = pd.Series(rng.choice(values, int(rng.integers(5, 2000)), p=rng.dirichlet(np.ones(k + 1) * 0.3))).astype("str")
        col = CategoricalColumn("c", [], "text")
        fast, plain = _label_counts(col, s), pd.Series(column_labels(col, s)).value_counts()
        assert list(fast.index) == list(plain.index) and list(fast.to_numpy()) == list(plain.to_numpy())


def test_in_place_likelihood_equals_the_training_likelihood():
    torch.manual_seed(0)
    net = TabularAutoencoder(5, [1], [4, 3], 3, [16, 8], "vae").eval()
    x_num = torch.randn(64, 5)
    observed = (torch.rand(64, 5) > 0.1).float()
    x_cat = torch.stack([torch.randint(0, 4, (64,)), torch.randint(0, 3, (64,))], dim=1)
    z = torch.randn(64, 3)
    with torch.enable_grad():
        reference = net.column_nll(net.decode(z), x_num, observed, x_cat).detach()
    with torch.no_grad():
        in_place = net.column_nll(net.decode(z), x_num, observed, x_cat)
        # K draws decoded at once against the rows by broadcasting, as the importance-weighted score does
        stacked = tuple(None if t is None else t.unsqueeze(0).expand(2, *t.shape) for t in net.decode(z)[:3])
        broadcast = net.column_nll((*stacked, net.decode(z)[3]), x_num, observed, x_cat)
    assert torch.equal(reference, in_place)
    assert torch.equal(broadcast[0], reference) and torch.equal(broadcast[1], reference)


def test_top_features_match_a_stable_sort():
    rng = np.random.default_rng(5)
    names = [f"c{i}" for i in range(12)]
    few = np.tile(rng.normal(size=(3, 12)), (400, 1))  # a few combinations, repeated
    many = rng.normal(size=(1200, 12))  # nearly every row its own combination
    ties = np.round(rng.normal(size=(500, 12)))  # equal contributions: the first column goes first
    for excess in (few, many, ties):
        before = excess.copy()
        got = top_features(excess, names)
        order = np.argsort(-excess, axis=1, kind="stable")[:, :3]
        assert list(got) == [";".join(names[j] for j in row) for row in order]
        assert np.array_equal(excess, before)  # the caller's array is left alone


def test_read_table_sample_does_not_depend_on_chunking(tmp_path):
    from vaeguard.sources import open_source, read_table

    path = tmp_path / "t.csv"
    pd.DataFrame({"a": np.arange(5000), "b": np.arange(5000) % 7}).to_csv(path, index=False)
    samples = [read_table(open_source(str(path)), max_rows=600, seed=1, chunk_size=c)[0] for c in (97, 1000, 10_000)]
    assert len(samples[0]) == 600 and samples[0]["a"].is_monotonic_increasing
    assert all(s.equals(samples[0]) for s in samples[1:])
    # The rows with the 600 smallest of the keys drawn row by row, though most were dropped as they came
    # (chunks of 97: rows past the running cut never held) and the rest cut part by part.
    keys = np.random.default_rng(1).random(5000)
    assert samples[0]["a"].tolist() == sorted(np.argsort(keys)[:600].tolist())
    whole, total = read_table(open_source(str(path)), max_rows=None, chunk_size=333)
    assert total == 5000 and whole["a"].tolist() == list(range(5000))


def test_labelled_normal_rows_are_read_from_the_whole_column_chunk_by_chunk(tmp_path):
    """fit --label samples among the normal rows: the rows a label calls anomalous are left out chunk by
    chunk, though which values mean normal is only known from the whole column (an attack name before any
    'normal'; a '0' that is an attack where 'normal' is the column's normal value)."""
    from vaeguard.errors import InputError
    from vaeguard.evaluate import LabelledNormalRows
    from vaeguard.sources import open_source, read_table

    path = tmp_path / "t.csv"
    labels = ["neptune"] * 300 + ["normal"] * 150 + ["0"] * 50 + ["smurf"] * 300 + ["normal"] * 200
    pd.DataFrame({"a": np.arange(len(labels)), "label": labels}).to_csv(path, index=False)
    # A sample of 120 is drawn from the 500 rows that may be normal (the 50 '0' rows among them, left out
    # after), not from all 1,000: about 42 would have been normal.
    keys = np.random.default_rng(1).random(1000)
    maybe = np.flatnonzero(np.isin(labels, ["normal", "0"]))
    chosen = sorted(maybe[np.argsort(keys[maybe])[:120]].tolist())
    for chunk_size, max_rows in ((97, None), (10_000, None), (97, 120), (10_000, 120)):
        rows = LabelledNormalRows("label", None, "t.csv", "fit")
        df, total = read_table(open_source(str(path)), max_rows=max_rows, seed=1, chunk_size=chunk_size, row_filter=rows)
        df, anomalous = rows.finish(df)
        assert total == 1000 and anomalous == 650 and set(df["label"]) == {"normal"}
        expected = [i for i in (range(1000) if max_rows is None else chosen) if labels[i] == "normal"]
        assert df["a"].tolist() == expected and len(expected) > 100
    for values, positive, words in ((["good", "bad"], None, "cannot tell which values"), (["good", "bad"], "good", None),
                                    (["1", "true"], None, "every row of"), (["normal", None], None, r"missing values \(1 in rows 1 to 2\)")):
        pd.DataFrame({"a": [1, 2], "label": values}).to_csv(path, index=False)
        rows = LabelledNormalRows("label", positive, "t.csv", "fit")
        if words is None:
            df, _ = read_table(open_source(str(path)), max_rows=10, row_filter=rows)
            assert rows.finish(df)[0]["label"].tolist() == ["bad"]
            continue
        with pytest.raises(InputError, match=words):  # a missing label stops the read; the rest, the whole column read
            rows.finish(read_table(open_source(str(path)), max_rows=10, row_filter=rows)[0])


def test_reading_parquet_in_chunks_holds_about_one_row_group(tmp_path):
    import pyarrow.parquet as pq

    from vaeguard.sources import open_source

    path = tmp_path / "t.parquet"
    rows = 200_000
    table = pa.table({f"c{i}": np.random.default_rng(i).random(rows) for i in range(8)})
    pq.write_table(table, path, row_group_size=10_000)
    del table
    whole = rows * 8 * 8
    base, held, seen = pa.total_allocated_bytes(), 0, 0
    for chunk in open_source(str(path)).chunks(chunk_size=10_000):
        seen += len(chunk)
        held = max(held, pa.total_allocated_bytes() - base)
        del chunk
    assert seen == rows
    # Arrow's pre-buffering held every row group it fetched (17 MB here); without it, about 3 MB.
    assert held < whole / 2, f"{held / 1e6:.1f} MB held by Arrow while reading a {whole / 1e6:.1f} MB file"


@pytest.mark.parametrize("bounded", [False, True])
def test_a_parquet_file_read_whole_equals_it_read_in_chunks(tmp_path, monkeypatch, request, bounded):
    """Parquet that the sample keeps whole is read in one go (less memory); the frame is the one the
    chunked reader gives, types included, and a larger file is still sampled. bounded: more cores than
    the memory budget lets decode at once, so the columns are read a few at a time."""
    import datetime as dt
    import decimal

    import pyarrow.parquet as pq

    from vaeguard import parallel
    from vaeguard.sources import open_source, read_table

    if bounded:
        cores = pa.cpu_count()
        pa.set_cpu_count(4)
        request.addfinalizer(lambda: pa.set_cpu_count(cores))
        monkeypatch.setattr(parallel, "COLUMN_MEMORY_BUDGET", 1)
        assert parallel.column_workers(3000, copies=3) == 1

    n = 3000
    rng = np.random.default_rng(3)
    table = pa.table({
        "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
        "bytes": pa.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 10**6, n)).tolist(), pa.int64()),
        "dur": rng.random(n),
        "proto": pa.array(rng.choice(["tcp", "udp", None], n).tolist()).dictionary_encode(),
        "price": pa.array([decimal.Decimal(f"{v:.2f}") for v in rng.random(n) * 100], pa.decimal128(10, 2)),
        "ok": rng.random(n) > 0.5,
    })
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=700)
    whole, total = read_table(open_source(str(path)), max_rows=None)
    chunked = pd.concat(list(open_source(str(path)).chunks(chunk_size=512))).reset_index(drop=True)
    assert total == n
    pd.testing.assert_frame_equal(whole, chunked)
    assert read_table(open_source(str(path)), max_rows=n)[0].equals(whole)
    sample, total = read_table(open_source(str(path)), max_rows=1000, seed=1)
    assert total == n and len(sample) == 1000
    assert sample.equals(read_table(open_source(str(path)), max_rows=1000, seed=1, chunk_size=97)[0])


def test_score_stops_reading_ahead_when_the_model_cannot_load(tmp_path):
    from typer.testing import CliRunner

    from vaeguard.cli import app

    path = tmp_path / "t.csv"
    mixed_table(20_000).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["score", str(path), "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "no-model" in res.output
    deadline = time.time() + 5
    while any(t.name == "vaeguard-prefetch" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "vaeguard-prefetch" for t in threading.enumerate())
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("chunk", [7, 4096, 4097, 10_000])
def test_pipelined_score_file_equals_score_frame(tmp_path, chunk):
    from vaeguard.detector import Detector
    from vaeguard.pipeline import score_file

    train = mixed_table(3000)
    det = Detector(epochs=2, hidden=(16, 8), seed=0).fit(train)
    data = mixed_table(5000, seed=7)
    data.loc[10, "proto"] = "sctp"
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    data.to_csv(path, index=False)
    run = score_file(str(path), det, str(out), chunk_size=chunk)
    # Parsed exactly, by Arrow: pandas' own parser before 3.0 reads a float's text to within a unit of its last
    # place, and the scores were written in full (1,262 of these 5,000 read back one ulp off with pandas 2.3).
    got = pd.read_csv(out, engine="pyarrow")
    want = det.score_frame(pd.read_csv(path, engine="pyarrow"))
    assert run.report.rows == len(data) and run.report.unknown == {"proto": 1}
    if chunk % 4096 == 0:  # every row keeps its place in a scoring batch: the same bytes
        assert np.array_equal(got["anomaly_score"].to_numpy(), want["anomaly_score"].to_numpy())
    else:  # elsewhere in a batch, a matrix product may sum in another order: float32 precision
        np.testing.assert_allclose(got["anomaly_score"].to_numpy(), want["anomaly_score"].to_numpy(), rtol=1e-5)
    assert got["top_features"].tolist() == want["top_features"].tolist()
    assert run.report.flagged == int(want["is_anomaly"].sum())


def test_direct_fused_adam_matches_torch_adam():
    """train.FusedAdam calls the fused kernel itself (torch.optim would import torch._dynamo); its steps
    must be torch's own, bit for bit, with and without weight decay."""
    from vaeguard.train import FusedAdam

    for weight_decay in (0.0, 1e-4):
        torch.manual_seed(0)
        a = TabularAutoencoder(3, [1], [4, 2], latent_dim=2, hidden=[8])
        b = TabularAutoencoder(3, [1], [4, 2], latent_dim=2, hidden=[8])
        b.load_state_dict(a.state_dict())
        ours = FusedAdam(a.parameters(), lr=1e-2, weight_decay=weight_decay)
        theirs = torch.optim.Adam(b.parameters(), lr=1e-2, weight_decay=weight_decay, fused=True)
        gen = torch.Generator().manual_seed(1)
        for _ in range(5):
            x_num = torch.randn(64, 3, generator=gen)
            observed = torch.ones(64, 3)
            x_cat = torch.stack([torch.randint(0, 4, (64,), generator=gen), torch.randint(0, 2, (64,), generator=gen)], 1)
            for model, opt in ((a, ours), (b, theirs)):
                torch.manual_seed(2)  # the same reparameterisation draws for both
                opt.zero_grad(set_to_none=True)
                model.training_loss(x_num, observed, x_cat).backward()
                opt.step()
        for (name, p), q in zip(a.named_parameters(), b.parameters()):
            assert torch.equal(p, q), f"{name} differs with weight_decay={weight_decay}"


def test_foreach_gradient_clipping_matches_torch():
    """train.clip_grad_norm_ runs torch's clipping through the foreach kernels (torch loops over the tensors
    on a CPU): the gradients it leaves must be torch's, bit for bit, when it clips and when it does not, and
    a parameter without a gradient is passed over as torch passes it over."""
    from vaeguard.train import clip_grad_norm_

    torch.manual_seed(0)
    model = TabularAutoencoder(3, [1], [4, 2], latent_dim=2, hidden=[8])
    params = list(model.parameters())
    for scale, max_norm in ((10.0, 1.0), (1e-3, 5.0)):
        grads = [torch.randn_like(p) * scale for p in params]
        grads[0] = None
        clipped = []
        for clip in (lambda: clip_grad_norm_(params, max_norm), lambda: torch.nn.utils.clip_grad_norm_(params, max_norm)):
            for p, g in zip(params, grads):
                p.grad = None if g is None else g.clone()
            clip()
            clipped.append([p.grad for p in params])
        assert clipped[0][0] is None and clipped[1][0] is None
        assert all(torch.equal(a, b) for a, b in zip(clipped[0][1:], clipped[1][1:])), f"differs at scale {scale}"
        assert (scale > 1) == any(not torch.equal(a, g) for a, g in zip(clipped[0][1:], grads[1:]))  # clipped only when too large


def test_fit_leaves_the_compiler_unloaded():
    """A fit never needs torch._dynamo (1.5 s of import); a new torch that pulls it in shows up here."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from vaeguard.detector import Detector\n"
        "rng = np.random.default_rng(0)\n"
        "df = pd.DataFrame({'a': rng.normal(size=300), 'b': rng.choice(['x', 'y'], 300)})\n"
        "Detector(epochs=2).fit(df)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_labels_computed_once_per_distinct_value_equal_labels_row_by_row():
    from vaeguard.encode import _constant_labels, canonical_strings, per_distinct, port_labels

    rng = np.random.default_rng(6)
    n = 5000
    ports = rng.choice(np.array(["80", "443", "8080", "53211", "61000", "x", None], dtype=object), n)
    columns = {
        "ports as text": pd.Series(ports, dtype="str"),
        "ports as Arrow text": as_text(pd.DataFrame({"p": ports}))["p"],
        "ports as numbers": pd.to_numeric(pd.Series(ports), errors="coerce"),
    }
    for what, s in columns.items():
        fast = per_distinct(lambda v: port_labels(v, {8080}), s)
        assert list(fast) == list(port_labels(s, {8080})), what
        for kind in ("number", "text", "bool"):
            assert list(per_distinct(lambda v: canonical_strings(v, kind), s)) == list(canonical_strings(s, kind)), (what, kind)
    # Python's equality makes True, 1 and 1.0 one value; as labels they are not, so objects go row by row.
    mixed = pd.Series(rng.choice(np.array([True, 1, 1.0, "1", None], dtype=object), n))
    assert list(per_distinct(lambda v: canonical_strings(v, "text"), mixed)) == list(canonical_strings(mixed, "text"))
    sets = pd.Series(rng.choice(np.array(["(empty)", "a,b", "a", None], dtype=object), n), dtype="str")
    from vaeguard.encode import ConstantColumn

    col = ConstantColumn("tunnel_parents", "0", "number", "length", 5.0)
    assert list(_constant_labels(col, sets)) == list(canonical_strings(pd.Series([len(v.split(",")) if v and v != "(empty)" else 0 for v in sets.fillna("")], dtype=float)))


def test_id_like_text_is_ignored_and_unique_numbers_stored_as_text_are_not():
    n = 5000
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "uid": [f"C{v:x}" for v in rng.integers(2**40, 2**48, n)],
        "amount": [f"{v:.4f}" for v in rng.random(n) * 1000],
        "price": [f"{v:.3f}".replace(".", ",") for v in rng.random(n) * 10],
        "dur": [f"{v:.6f}" if i % 10 else "n/a" for i, v in enumerate(rng.random(n))],
    }).astype("str")
    roles = {s.name: s.role for s in infer_schema(df)}
    assert roles == {"uid": "ignored", "amount": "numeric", "price": "numeric", "dur": "numeric"}


def test_training_sums_category_embeddings_as_the_embedding_bag_does():
    torch.manual_seed(1)
    net = TabularAutoencoder(2, [], [3, 2, 4, 3], 3, [16, 8], "vae")
    assert net.one_hot_sum
    x_num = torch.randn(256, 2)
    observed = torch.ones(256, 2)
    x_cat = torch.stack([torch.randint(0, v, (256,)) for v in (3, 2, 4, 3)], dim=1)
    with torch.no_grad():
        bag = net.encode(x_num, observed, x_cat)[0]
    mu = net.encode(x_num, observed, x_cat)[0]
    assert torch.allclose(mu, bag, atol=1e-6)
    mu.sum().backward()
    one_hot_grad = net.enc_cat.weight.grad.clone()
    net.enc_cat.weight.grad = None
    net.one_hot_sum = False
    net.encode(x_num, observed, x_cat)[0].sum().backward()
    assert torch.allclose(one_hot_grad, net.enc_cat.weight.grad, atol=1e-5)
    assert not TabularAutoencoder(2, [], [200] * 3, 3, [16, 8], "vae").one_hot_sum  # wide vocabularies keep the bag



def _autograd_categorical_nll(model: TabularAutoencoder, logits: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
    """The categorical likelihood as it was written before its gradient was (autograd through every step)."""
    from vaeguard.forward import CAT_LOGIT_BOUND

    logits = logits.clamp(-CAT_LOGIT_BOUND, CAT_LOGIT_BOUND)
    shift = logits.max(dim=-1, keepdim=True).values
    weights = torch.exp(logits - shift)
    parts = torch.split(weights, [stop - start for start, stop, _ in model.cat_blocks], dim=-1) if len(model.cat_blocks) > 1 else [weights]
    sums = [part @ getattr(model, name) for part, (_, _, name) in zip(parts, model.cat_blocks)]
    log_norm = torch.log(sums[0] if len(sums) == 1 else torch.cat(sums, dim=-1)) + shift
    nll = log_norm - logits.gather(-1, x_cat + model.cat_offsets)
    return torch.where(x_cat == 0, torch.zeros_like(nll), nll)


@pytest.mark.parametrize("vocab", [[6, 7, 3, 2] + [3] * 25, [3] * 150 + [9, 2]])  # one block of columns; three
def test_written_categorical_gradient_equals_autograds_bit_for_bit(vocab):
    """model.CategoricalNLL writes out the gradient autograd took through a dozen operations: the same values
    and the same gradient to the bit, with logits past the bound (whose gradient is cut) and <unknown> codes
    among the rows, so training's weights do not move by a bit either."""
    torch.manual_seed(0)
    net = TabularAutoencoder(0, [], vocab, 4, [16, 8], "vae")
    gen = torch.Generator().manual_seed(1)
    x_cat = torch.stack([torch.randint(0, v, (512,), generator=gen) for v in vocab], dim=1)
    logits = torch.randn(512, sum(vocab), generator=gen) * 20  # a fifth of them past the bound of 30
    grad = torch.randn(512, len(vocab), generator=gen)
    results = []
    for nll in (lambda t: _autograd_categorical_nll(net, t, x_cat), lambda t: net.column_nll((None, None, t, None), None, None, x_cat)):
        t = logits.clone().requires_grad_()
        value = nll(t)
        value.backward(grad)
        results.append((value.detach(), t.grad))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])
    assert (logits.abs() > 30).any() and (results[1][1][logits.abs() > 30] == 0).all() and (x_cat == 0).any()


def test_training_with_the_written_categorical_gradient_gives_autograds_weights(monkeypatch):
    """Thirty training steps of a network of numbers, flags and categories: the same weights, bit for bit,
    as with autograd's pass through the categorical likelihood."""
    import vaeguard.model as model_module
    from vaeguard.train import FusedAdam

    vocab = [4, 3, 2, 5]
    gen = torch.Generator().manual_seed(4)
    x_num = torch.randn(256, 3, generator=gen)
    observed = (torch.rand(256, 3, generator=gen) > 0.1).float()
    x_cat = torch.stack([torch.randint(0, v, (256,), generator=gen) for v in vocab], dim=1)
    weights = []
    for written in (True, False):
        if not written:
            monkeypatch.setattr(model_module.CategoricalNLL, "apply",
                                lambda logits, x, offsets, column, *segments: model_module.categorical_nll(logits, x, offsets, segments)[0])
        torch.manual_seed(0)
        net = TabularAutoencoder(3, [1], vocab, 2, [16, 8], "vae")
        opt = FusedAdam(net.parameters(), lr=1e-2, weight_decay=0.0)
        torch.manual_seed(1)
        for _ in range(30):
            opt.zero_grad()
            net.training_loss(x_num, observed, x_cat, trim=0.05).backward()
            opt.step()
        weights.append(net.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


# ---- a CSV parsed in byte ranges on several threads --------------------------------------------------
def _split_csv(tmp_path) -> Path:
    """Rows whose quoted fields hold delimiters, quotes and line breaks, a short and a long line in every
    part, a repeated header (two files concatenated) and CRLF line ends: every range boundary has
    something to get wrong."""
    rng = np.random.default_rng(3)
    lines = ['\ufeff"bytes","note","proto"']
    for i in range(3000):
        note = rng.choice(['plain', '"a, b"', '"two\r\nlines"', '"say ""hi"""', ''], p=[0.1, 0.1, 0.6, 0.1, 0.1])
        lines.append(f"{rng.integers(0, 10**6)},{note},{rng.choice(['tcp', 'udp'])}")
        if i % 700 == 350:
            lines.append("1,2")  # short
            lines.append("1,2,3,4")  # long
        if i == 1500:
            lines.append('"bytes","note","proto"')
    path = tmp_path / "split.csv"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    return path


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_a_csv_read_in_parts_equals_the_csv_read_whole(tmp_path, monkeypatch, parts):
    import vaeguard.csvread as csvread
    import vaeguard.sources as sources

    path = _split_csv(tmp_path)
    whole_source = sources.open_source(str(path))
    whole, n = sources.read_table(whole_source, max_rows=None)
    monkeypatch.setattr(csvread, "worker_count", lambda: parts)
    monkeypatch.setattr(csvread, "SPLIT_PARTS_MAX", parts)
    monkeypatch.setattr(csvread, "SPLIT_MIN_BYTES", path.stat().st_size // parts)
    assert len(csvread._csv_ranges(sources.open_source(str(path)), 10**6)[1]) == parts
    split_source = sources.open_source(str(path))
    split, m = sources.read_table(split_source, max_rows=None)
    pd.testing.assert_frame_equal(split, whole)
    assert n == m == 3000 and len(whole) == 3000
    assert split_source.bad_lines == whole_source.bad_lines == 8
    assert split_source.bad_example == whole_source.bad_example == "1,2"
    # More lines than the sample holds: one thread, so a sampled read stays within its memory bound.
    assert csvread._csv_ranges(sources.open_source(str(path)), 1000) is None


def test_a_csv_read_in_parts_stops_at_the_first_bad_line_with_strict(tmp_path, monkeypatch):
    import vaeguard.csvread as csvread
    import vaeguard.sources as sources
    from vaeguard.errors import InputError

    path = tmp_path / "t.csv"
    rows = [f"{i},{i % 7}" for i in range(4000)]
    rows[100], rows[3900] = "early", "1,2,3"
    path.write_text("a,b\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(csvread, "worker_count", lambda: 2)
    monkeypatch.setattr(csvread, "SPLIT_MIN_BYTES", 1000)
    # A header and as many rows as the sample holds: read in parts (a million-row file under fit's default
    # --max-rows of a million was not, for its header's line).
    assert csvread._csv_ranges(sources.open_source(str(path)), 4000) is not None
    assert csvread._csv_ranges(sources.open_source(str(path)), 3999) is None
    with pytest.raises(InputError, match="'early'"):
        sources.read_table(sources.open_source(str(path), strict=True), max_rows=None)


def test_the_held_out_rows_scored_on_several_threads_score_as_on_one():
    from vaeguard import VAEGuard
    from vaeguard.scoring import network_scores

    df = mixed_table(3000)
    det = VAEGuard(epochs=2, seed=0).fit(df)
    enc = det.preprocessor_.transform(pd.concat([mixed_table(3000, seed=s) for s in range(4)], ignore_index=True))
    assert enc.x_num.shape[0] > 2 * det.network_.shape.score_batch_rows(det.eps_.shape[0])  # batches for every thread
    one, three = network_scores(det, enc, 1), network_scores(det, enc, 3)
    assert np.array_equal(one[0], three[0]) and np.array_equal(one[1], three[1])


def test_history_letters_found_once_equal_a_search_per_letter():
    """Each letter column of a Zeek history is looked up in the column's distinct histories, found once;
    the codes are those a substring search per letter gives, whatever the column's type."""
    from vaeguard.encode import HistoryLetters, letter_codes
    from vaeguard.schema import HISTORY_LETTERS

    rng = np.random.default_rng(8)
    n = 3000
    histories = rng.choice(np.array(["ShADadFf", "S", "Dd", "ShAdDaFfR^", "", "CCC", None], dtype=object), n)
    unique = np.array([f"Sh{i}" for i in range(n)], dtype=object)  # more distinct values than a lookup pays for
    columns = {
        "text": pd.Series(histories, dtype="str"),
        "Arrow text": as_text(pd.DataFrame({"h": histories}))["h"],
        "objects, a number among them": pd.Series(np.where(np.arange(n) % 97 == 0, 5, histories), dtype=object),
        "all missing, read as numbers": pd.Series(np.full(n, np.nan)),
        "every history distinct": pd.Series(unique, dtype="str"),
        "a short chunk": pd.Series(histories[:10], dtype="str"),
    }
    for what, s in columns.items():
        letters = HistoryLetters(s)
        assert (letters.codes is None) == (what in ("all missing, read as numbers", "every history distinct")), what
        for ch in HISTORY_LETTERS:
            assert np.array_equal(letters.codes_of(ch), letter_codes(s, ch)), (what, ch)
            assert np.array_equal(letters.counts_of(ch), np.bincount(letter_codes(s, ch), minlength=3)), (what, ch)


def test_port_labels_look_up_each_distinct_port_once():
    from vaeguard.encode import EPHEMERAL, MISSING, per_distinct_index, port_labels

    ports = ["80", "443", "8080", "53211", "x", None, "1023", "1024"]
    assert list(port_labels(pd.Series(ports, dtype="str"), {8080})) == ["80", "443", "8080", EPHEMERAL, "x", MISSING, "1023", EPHEMERAL]
    assert list(port_labels(pd.Series(["80", None], dtype="str"), set())) == ["80", MISSING]  # no port from 1024 up
    rng = np.random.default_rng(9)
    drawn = rng.choice(np.array(ports, dtype=object), 5000)
    lookup = pd.Index(np.array(["<unknown>", "80", "8080", EPHEMERAL, MISSING], dtype=object), dtype=object)
    for s in (pd.Series(drawn, dtype="str"), pd.to_numeric(pd.Series(drawn), errors="coerce"), pd.Series(drawn[:20], dtype="str")):
        label = lambda v: port_labels(v, {8080})  # noqa: E731
        idx, labels_at = per_distinct_index(label, lookup, s)
        assert np.array_equal(idx, lookup.get_indexer(label(s)))
        unseen = idx < 0
        assert list(labels_at(unseen)) == list(label(s)[unseen]) and unseen.any()
