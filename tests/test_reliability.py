"""Hostile input, crashes and determinism: vaeguard fails safely, loses no rows, and runs no code it reads."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaeguard import VAEGuard

from .conftest import SAMPLE, assert_scored_alike, interrupt_fit_after, invoke, make_flows

NEW = SAMPLE / "flows_new.csv"
ROOT = Path(__file__).resolve().parents[1]


# ---- checkpoints never execute code ---------------------------------------------------------------
class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("target", ["weights", "manifest"])
def test_pickle_payload_is_never_executed(runner, model_copy, tmp_path, target):
    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(str(marker)))
    if target == "weights":
        w = next(model_copy.glob("weights-*.safetensors"))
        w.write_bytes(blob)
        needle = "checksum"
    else:
        (model_copy / "manifest.json").write_bytes(blob)
        needle = "not valid JSON"
    for cmd in (["score", NEW, "--model", model_copy, "--out", tmp_path / "o.csv"], ["info", model_copy]):
        res = invoke(runner, *cmd)
        assert res.exit_code == 2 and needle in res.stderr
    assert not marker.exists()


def test_payload_with_matching_checksum_is_still_rejected(runner, model_copy, tmp_path):
    """An attacker who also rewrites the checksum gets a safetensors parse error, not code execution."""
    import hashlib

    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(str(marker)))
    m = json.loads((model_copy / "manifest.json").read_text())
    (model_copy / m["weights_file"]).write_bytes(blob)
    m["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    (model_copy / "manifest.json").write_text(json.dumps(m))
    res = invoke(runner, "score", NEW, "--model", model_copy, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and "safetensors" in res.stderr
    assert not marker.exists()


def test_tensor_shapes_must_match_manifest(runner, model_copy, tmp_path):
    import hashlib

    import torch
    from safetensors.torch import load, save

    m = json.loads((model_copy / "manifest.json").read_text())
    path = model_copy / m["weights_file"]
    tensors = load(path.read_bytes())
    key = next(k for k in tensors if k.endswith("enc_mu.weight"))
    tensors[key] = torch.zeros(tensors[key].shape[0] + 1, tensors[key].shape[1])
    blob = save(tensors)
    path.write_bytes(blob)
    m["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    (model_copy / "manifest.json").write_text(json.dumps(m))
    res = invoke(runner, "score", NEW, "--model", model_copy, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and "shape" in res.stderr


@pytest.mark.parametrize("mutate", [
    lambda m: m["calibration"].update(scores="many"),
    lambda m: m["preprocessing"]["numeric"][0].pop("scale"),
    lambda m: m["schema"].append(7),
    lambda m: m.update(format_version="1"),
    lambda m: m["scoring"].update(baselines=[0.0]),
    lambda m: m["model"].update(hidden=[-3]),
    lambda m: m.update(calibration=None),
])
def test_manifest_with_wrong_types(runner, model_copy, tmp_path, mutate):
    path = model_copy / "manifest.json"
    m = json.loads(path.read_text())
    mutate(m)
    path.write_text(json.dumps(m))
    res = invoke(runner, "score", NEW, "--model", model_copy, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error:") and "Traceback" not in res.output


# ---- bad tables --------------------------------------------------------------------------------------
def write(tmp_path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return p


def test_duplicate_column_names(runner, tmp_path, trained_model):
    p = write(tmp_path, "d.csv", "a,a,b\n" + "".join(f"{i},{i * 2},{i % 3}\n" for i in range(50)))
    res = invoke(runner, "fit", p, "--model", tmp_path / "m0", "--epochs", "1", "--json")
    assert res.exit_code == 0 and [c["name"] for c in json.loads(res.stdout)["columns"]] == ["a", "a.1", "b"], res.output
    # The same name once with a space before it: read without the space (CICFlowMeter's padding), a repeat.
    p = write(tmp_path, "s.csv", "a, a,b\n" + "".join(f"{i}, {i * 2},{i % 3}\n" for i in range(50)))
    res = invoke(runner, "fit", p, "--model", tmp_path / "m1", "--epochs", "1", "--json")
    assert res.exit_code == 0 and [c["name"] for c in json.loads(res.stdout)["columns"]] == ["a", "a.1", "b"], res.output
    # A name repeated after the model's columns: the model reads the first, the second passes through as 'service.1'.
    src = pd.read_csv(NEW)
    dup = tmp_path / "dup.csv"
    dup.write_text(",".join(list(src.columns) + ["service"]) + "\n" + "\n".join(",".join(map(str, r)) + ",x" for r in src.head(5).itertuples(index=False)) + "\n")
    res = invoke(runner, "score", dup, "--model", trained_model, "--out", tmp_path / "o.csv", "--json")
    assert res.exit_code in (0, 1) and "'service' named again in the header: read as 'service.1'" in json.loads(res.stdout)["read_as"], res.output
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["service"].tolist() == src["service"].head(5).tolist() and out["service.1"].tolist() == ["x"] * 5
    # A file with no header row (NSL-KDD's KDDTrain+.txt): its first row's repeated values are not names.
    bare = write(tmp_path, "kdd.txt", "".join(f"0,tcp,ftp_data,SF,{i},0,0,0.0,0.0,normal,20\n" for i in range(50)))
    res = invoke(runner, "fit", bare, "--model", tmp_path / "m", "--epochs", "1")
    assert res.exit_code == 2 and "no header row" in res.stderr and "(0, tcp, ftp_data, SF, 0, 0, ...)" in res.stderr
    assert not (tmp_path / "m").exists()


def test_a_csv_without_a_header_line_is_read_with_the_names_given(runner, tmp_path, trained_model):
    """KDD Cup's and UNSW-NB15's files come without a header line: --names names their fields, in order, so
    no one has to write a line above a million rows (or above stdin). The rows score as the same rows with
    a header do, from a file, gzipped or from stdin; a name count that is not the field count, names for a
    file that has its header, and names for a format that names its own columns stop with one line."""
    import gzip

    from vaeguard.sources import open_source, read_table

    src = pd.read_csv(NEW)
    names = ",".join(src.columns)
    bare = tmp_path / "bare.csv"
    src.to_csv(bare, header=False, index=False)
    res = invoke(runner, "score", NEW, "--model", trained_model, "--out", tmp_path / "with_header.csv")
    assert res.exit_code == 0, res.output
    expected = pd.read_csv(tmp_path / "with_header.csv")
    # Its first line repeats no value, but holds fractions (a duration, rates): no header names columns so.
    res = invoke(runner, "score", bare, "--model", trained_model, "--out", tmp_path / "no.csv")
    assert res.exit_code == 2 and "has no header row" in res.stderr and "--names" in res.stderr, res.output
    numbered = write(tmp_path, "ipfix.csv", "8,12,7,11,1,2\n" + "".join(f"10.0.0.{i % 9 + 1},10.0.1.{i % 7 + 1},{40000 + i},443,{300 + 17 * i % 900},6\n"
                                                                      for i in range(60)))
    assert list(read_table(open_source(str(numbered)))[0].columns) == ["8", "12", "7", "11", "1", "2"]  # IPFIX element numbers: names
    (tmp_path / "bare.csv.gz").write_bytes(gzip.compress(bare.read_bytes()))
    semi, bom = tmp_path / "semi.txt", tmp_path / "bom.csv"
    src.to_csv(semi, header=False, index=False, sep=";")
    bom.write_bytes("\ufeff".encode() + bare.read_bytes())  # as Excel saves "CSV UTF-8"
    for name, path, stdin in (("file", bare, None), ("gzip", tmp_path / "bare.csv.gz", None), ("stdin", "-", bare.read_text()),
                              ("semicolons", semi, None), ("byte-order mark", bom, None)):
        out = tmp_path / f"named-{name}.csv"
        res = invoke(runner, "score", path, "--names", names, "--model", trained_model, "--out", out, input=stdin)
        assert res.exit_code == 0, (name, res.output)
        got = pd.read_csv(out)
        assert list(got.columns) == list(expected.columns) and got["anomaly_score"].tolist() == expected["anomaly_score"].tolist(), name
    kdd = write(tmp_path, "kdd.txt", "".join(f"0,tcp,{['http', 'ftp_data'][i % 2]},SF,{37 * i % 60 * 11},{3 * i % 17},0,0.0,0.0,normal,20\n" for i in range(60)))
    res = invoke(runner, "fit", kdd, "--model", tmp_path / "m0", "--epochs", "1")
    assert res.exit_code == 2 and "--names" in res.stderr
    kdd_names = "duration,protocol_type,service,flag,src_bytes,dst_bytes,land,serror_rate,rerror_rate,label,difficulty"
    res = invoke(runner, "fit", kdd, "--names", kdd_names, "--ignore", "label", "--model", tmp_path / "m1", "--epochs", "1", "--json")
    assert res.exit_code == 0, res.output
    roles = {c["name"]: c["role"] for c in json.loads(res.stdout)["columns"]}
    assert roles["service"] == "categorical" and roles["src_bytes"] == "numeric", roles
    renamed = ",".join(f"c{i}" for i in range(len(src.columns)))
    for path, listed, said in ((bare, "a,b,c", "--names gives 3 names, and the first line of"), (NEW, names, "already starts with a header line"),
                               (NEW, renamed, "starts with a header line (flow_id, start_time, proto"),
                              (bare, "proto,,bytes", "empty name"), (bare, "", "empty name"), (bare, "a,b,a", "more than once")):
        res = invoke(runner, "score", path, "--names", listed, "--model", trained_model, "--out", tmp_path / "no.csv")
        assert res.exit_code == 2 and said in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "no.csv").exists()
    parquet = tmp_path / "t.parquet"
    src.to_parquet(parquet)
    res = invoke(runner, "score", parquet, "--names", names, "--model", trained_model, "--out", tmp_path / "no.csv")
    assert res.exit_code == 2 and "a Parquet file, which names its own" in res.stderr


def test_a_model_fitted_with_names_reads_the_next_file_without_a_header_line_with_them(runner, tmp_path):
    """KDDTrain+.txt is fitted with --names, KDDTest+.txt scored: the model keeps the names, so score,
    evaluate, calibrate and explain read the next headerless file with them as if they had been given
    again (from a file, gzipped, from stdin, as several files), say so, and stop in one line on a file
    with another field count. A file with its header line reads as ever, and a model fitted on one with
    a header still asks for --names."""
    import gzip

    from vaeguard import fit_file, score_file
    from vaeguard.detector import Detector

    names = "duration,protocol_type,service,flag,src_bytes,dst_bytes,land,serror_rate,rerror_rate,label,difficulty"

    def rows(start, n):
        return "".join(f"0,tcp,{['http', 'ftp_data'][i % 2]},SF,{37 * i % 60 * 11},{3 * i % 17},0,0.{i % 9},0.0,"
                       f"{['normal', 'neptune'][i % 7 == 0]},20\n" for i in range(start, start + n))

    train, test = write(tmp_path, "train.txt", rows(0, 80)), write(tmp_path, "test.txt", rows(80, 40))
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--names", names, "--ignore", "label", "--ignore", "difficulty", "--model", model, "--epochs", "2")
    assert res.exit_code == 0, res.output
    res = invoke(runner, "score", test, "--names", names, "--model", model, "--out", tmp_path / "given.csv")
    assert res.exit_code == 0, res.output
    expected = pd.read_csv(tmp_path / "given.csv")
    headed = write(tmp_path, "headed.csv", names + "\n" + rows(80, 40))
    (tmp_path / "test.txt.gz").write_bytes(gzip.compress(test.read_bytes()))
    (tmp_path / "parts").mkdir()
    write(tmp_path, "parts/a.txt", rows(80, 40)), write(tmp_path, "parts/b.txt", rows(80, 40))
    for how, path, stdin in (("file", test, None), ("gzip", tmp_path / "test.txt.gz", None), ("stdin", "-", test.read_text()),
                             ("header", headed, None), ("folder", tmp_path / "parts", None)):
        out = tmp_path / f"kept-{how}.csv"
        res = invoke(runner, "score", path, "--model", model, "--out", out, input=stdin)
        assert res.exit_code == 0, (how, res.output)
        assert ("named as at fit (--names)" in res.output) == (how != "header"), (how, res.output)
        got = pd.read_csv(out)
        twice = 2 if how == "folder" else 1
        assert_scored_alike(got, pd.concat([expected] * twice, ignore_index=True))
    res = invoke(runner, "evaluate", test, "--model", model, "--label", "label", "--positive", "neptune", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["anomalies"] == 6, res.output
    res = invoke(runner, "explain", test, "--model", model, "--row", "1")
    assert res.exit_code == 0 and "src_bytes" in res.output, res.output
    res = invoke(runner, "calibrate", test, "--model", model, "--json")
    assert res.exit_code == 0, res.output
    res = invoke(runner, "info", model, "--json")
    assert json.loads(res.stdout)["given_names"] == names.split(","), res.output
    short = write(tmp_path, "short.txt", "".join(",".join(line.split(",")[:9]) + "\n" for line in rows(0, 20).splitlines()))
    res = invoke(runner, "score", short, "--model", model, "--out", tmp_path / "no.csv")
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "its first line holds 9 fields" in res.stderr and "fitted on 11 named with --names" in res.stderr, res.stderr
    assert not (tmp_path / "no.csv").exists()
    # A first line of whole numbers alone reads as names (IPFIX element numbers) unless they are not the
    # model's: with a model fitted with --names, such a line is the file's first row.
    ints = write(tmp_path, "ints.txt", "".join(f"{7 * i % 50},{i % 9},{3 * i % 40}\n" for i in range(1, 80)))
    res = invoke(runner, "fit", ints, "--names", "a,b,c", "--model", tmp_path / "mi", "--epochs", "1")
    assert res.exit_code == 0, res.output
    res = invoke(runner, "score", ints, "--model", tmp_path / "mi", "--out", tmp_path / "ints.csv")
    assert res.exit_code == 0 and len(pd.read_csv(tmp_path / "ints.csv")) == 79, res.output
    named = write(tmp_path, "named.txt", "a,b,c\n" + ints.read_text())
    assert invoke(runner, "score", named, "--model", tmp_path / "mi", "--out", tmp_path / "ints2.csv", "-q").exit_code == 0
    assert len(pd.read_csv(tmp_path / "ints2.csv")) == 79
    # Fitted on a file with its header: a headerless one is not guessed at.
    res = invoke(runner, "fit", headed, "--model", tmp_path / "m2", "--epochs", "1", "--ignore", "label")
    assert res.exit_code == 0, res.output
    res = invoke(runner, "score", test, "--model", tmp_path / "m2", "--out", tmp_path / "no.csv")
    assert res.exit_code == 2 and "has no header row" in res.stderr, res.output
    # The Python API: names given to fit_file, kept for score_file; a refit on a frame forgets them.
    run = fit_file(str(train), tmp_path / "m3", Detector(epochs=2, ignore=("label", "difficulty")), names=names.split(","))
    assert score_file(str(test), tmp_path / "m3", str(tmp_path / "api.csv")).report.rows == 40
    assert score_file(str(test), run.detector, str(tmp_path / "api2.csv")).report.rows == 40
    assert run.detector.fit(pd.read_csv(headed)).given_names_ is None


def test_other_delimiters_are_sniffed(runner, tmp_path, trained_model):
    src = pd.read_csv(NEW).head(50)
    comma, semi = tmp_path / "comma.csv", tmp_path / "semi.csv"
    src.to_csv(comma, index=False)
    src.to_csv(semi, sep=";", index=False)
    for p in (comma, semi):
        res = invoke(runner, "score", p, "--model", trained_model, "--out", tmp_path / f"o-{p.stem}.csv", "-q")
        assert res.exit_code == 0, res.output
    a, b = pd.read_csv(tmp_path / "o-comma.csv"), pd.read_csv(tmp_path / "o-semi.csv")
    assert a["anomaly_score"].tolist() == b["anomaly_score"].tolist()


def test_extreme_values_score_finite(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW).head(40).astype({"src_bytes": float, "duration": float})
    src.loc[0, "src_bytes"] = np.inf
    src.loc[1, "src_bytes"] = -np.inf
    src.loc[2, "src_bytes"] = 1e308
    src.loc[3, "duration"] = -1e308
    src.loc[4, "src_bytes"] = np.nan
    src.loc[5, :] = np.nan  # an all-empty row
    p = tmp_path / "x.csv"
    src.to_csv(p, index=False)
    out = tmp_path / "o.csv"
    res = invoke(runner, "score", p, "--model", trained_model, "--out", out)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert len(got) == 40 and np.isfinite(got["anomaly_score"]).all()
    assert got.loc[:3, "is_anomaly"].eq(1).all()


def test_single_row_and_all_missing_column(runner, trained_model, tmp_path):
    one = tmp_path / "one.csv"
    pd.read_csv(NEW).head(1).to_csv(one, index=False)
    assert invoke(runner, "score", one, "--model", trained_model, "--out", tmp_path / "o.csv").exit_code == 0
    assert len(pd.read_csv(tmp_path / "o.csv")) == 1
    gaps = tmp_path / "gaps.csv"
    pd.read_csv(NEW).head(30).assign(packets=np.nan).to_csv(gaps, index=False)
    assert invoke(runner, "score", gaps, "--model", trained_model, "--out", tmp_path / "o2.csv").exit_code == 0
    assert np.isfinite(pd.read_csv(tmp_path / "o2.csv")["anomaly_score"]).all()


def test_header_only_score_writes_header(runner, trained_model, tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(NEW.read_text().splitlines()[0] + "\n")
    out = tmp_path / "o.csv"
    res = invoke(runner, "score", p, "--model", trained_model, "--out", out)
    assert res.exit_code == 0, res.output
    assert "anomaly_score" in out.read_text() and len(pd.read_csv(out)) == 0


def test_compressed_file_with_wrong_extension(runner, trained_model, tmp_path):
    import gzip

    p = tmp_path / "flows.parquet"
    with gzip.open(p, "wt") as f:
        f.write(NEW.read_text())
    # The bytes say gzip and CSV, whatever the name says.
    res = invoke(runner, "score", p, "--model", trained_model, "--out", tmp_path / "o.csv")
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "o.csv")) == 1000


def test_no_silent_row_loss(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW).astype({"packets": object})
    src.loc[[10, 500, 999], "packets"] = "??"
    p = tmp_path / "dirty.csv"
    src.to_csv(p, index=False)
    out = tmp_path / "o.csv"
    res = invoke(runner, "score", p, "--model", trained_model, "--out", out, "--chunk-size", "128")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert len(got) == len(src)
    assert got["flow_id"].tolist() == src["flow_id"].tolist()  # order kept
    assert "packets: 3" in res.stderr


# ---- determinism -------------------------------------------------------------------------------------
def test_scores_across_runs_and_chunk_sizes(runner, trained_model, tmp_path):
    """The same run twice writes the same bytes, and so does any --chunk-size that keeps rows in their
    places in a scoring batch (a multiple of 4,096). Cut at odd places, a row sits elsewhere in its batch,
    where a matrix product may sum in another order: the scores then agree to float32 precision."""
    src = tmp_path / "rows.csv"
    pd.concat([pd.read_csv(NEW)] * 3).head(9000).to_csv(src, index=False)
    outs = []
    for i, chunk in enumerate(["100000", "100000", "8192", "333", "1024", "97"]):
        out = tmp_path / f"o{i}.csv"
        assert invoke(runner, "score", src, "--model", trained_model, "--out", out, "--chunk-size", chunk, "-q").exit_code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    assert b"anomaly_score" in outs[0]
    want = pd.read_csv(io.BytesIO(outs[0]))
    for other in outs[3:]:
        got = pd.read_csv(io.BytesIO(other))
        np.testing.assert_allclose(got["anomaly_score"], want["anomaly_score"], rtol=1e-5)
        assert got["is_anomaly"].tolist() == want["is_anomaly"].tolist()
        assert got["top_features"].tolist() == want["top_features"].tolist()


def test_fit_is_deterministic(tmp_path):
    df = make_flows(300)
    a = VAEGuard(epochs=3, seed=4).fit(df).anomaly_score(df)
    b = VAEGuard(epochs=3, seed=4).fit(df).anomaly_score(df)
    assert np.array_equal(a, b)


# ---- fit --resume ------------------------------------------------------------------------------------
def test_resume_continues_interrupted_fit(runner, flows_csv, tmp_path, monkeypatch):
    model = tmp_path / "m"
    interrupt_fit_after(monkeypatch, 6)
    assert invoke(runner, "fit", flows_csv, "--model", model, "--epochs", "12", "-q").exit_code == 130
    saved = json.loads((model / "in-progress" / "manifest.json").read_text())
    assert saved["state"] == "training" and saved["training"]["best_epoch"] >= 3
    monkeypatch.undo()
    res = invoke(runner, "fit", flows_csv, "--model", model, "--epochs", "12", "--resume", "--json")
    assert res.exit_code == 0, res.output
    man = json.loads((model / "manifest.json").read_text())
    epochs = [h["epoch"] for h in man["training"]["history"]]
    assert epochs == list(range(1, len(epochs) + 1)) and epochs[-1] == 12
    assert not (model / "in-progress").exists()
    res = invoke(runner, "fit", flows_csv, "--model", model, "--resume")
    assert res.exit_code == 2 and "nothing to resume" in res.stderr


# ---- nothing half-written under SIGKILL ----------------------------------------------------------------
def _kill_during(cmd: list[str], delay: float) -> int:
    """Run a vaeguard command, SIGKILL it after `delay` seconds; its exit status (-9 when killed)."""
    proc = subprocess.Popen([sys.executable, "-m", "vaeguard", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


@pytest.mark.slow
def test_sigkill_during_score_leaves_previous_output(trained_model, tmp_path):
    big = tmp_path / "big.csv"
    src = pd.read_csv(NEW)
    pd.concat([src] * 60, ignore_index=True).to_csv(big, index=False)
    out = tmp_path / "o.csv"
    out.write_text("previous\n")
    for delay in (0.5, 1.5, 2.5, 3.5):
        _kill_during(["score", str(big), "--model", str(trained_model), "--out", str(out), "--chunk-size", "2000", "-q"], delay)
        assert out.read_text() == "previous\n" or len(pd.read_csv(out)) == len(src) * 60


@pytest.mark.slow
def test_sigkill_during_fit_keeps_previous_model(flows_csv, tmp_path):
    model = tmp_path / "m"
    ok = subprocess.run([sys.executable, "-m", "vaeguard", "fit", str(flows_csv), "--model", str(model), "--epochs", "2", "-q"], cwd=ROOT)
    assert ok.returncode == 0
    before = (model / "manifest.json").read_bytes()
    kept = 0
    for delay in (1.0, 2.0, 3.0, 4.0):
        _kill_during(["fit", str(flows_csv), "--model", str(model), "--epochs", "400", "-q"], delay)
        now = (model / "manifest.json").read_bytes()
        if now == before:
            kept += 1
        else:  # the fit got as far as its final save: then the new model must be complete and valid
            assert json.loads(now)["state"] == "trained"
            before = now
        VAEGuard.load(model)  # still loads and validates
    assert kept, "every fit finished before it could be killed; the test proved nothing"


def test_sigterm_during_score_leaves_no_temporary_file(trained_model, tmp_path):
    """`docker stop` and job schedulers send SIGTERM, which ended Python at once: a score killed so left its
    hidden temporary output (17 MB of a half-scored log) beside the target. It now ends as Ctrl-C does,
    with exit status 143. The rows come from a pipe held open, so the kill lands mid-run: a live pipe's
    end, so the rows scored by then are the output, whole, unless none were yet (then nothing is)."""
    out = tmp_path / "o.csv"
    proc = subprocess.Popen([sys.executable, "-m", "vaeguard", "score", "-", "--model", str(trained_model), "--out", str(out), "--chunk-size", "50"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdin.write(NEW.read_bytes())
    proc.stdin.flush()
    deadline = time.time() + 60
    while not list(tmp_path.glob(".o.csv*")) and time.time() < deadline:  # the first chunks written
        time.sleep(0.05)
    assert list(tmp_path.glob(".o.csv*")), "no temporary output appeared"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    err = proc.stderr.read().decode()
    assert [p.name for p in tmp_path.iterdir()] in ([], ["o.csv"])
    if out.exists():
        rows = int(err.split("warning: terminated (SIGTERM): the ")[1].split(" rows")[0].replace(",", ""))
        assert len(pd.read_csv(out)) == rows > 0
    else:
        assert err.startswith("error: terminated (SIGTERM)")
    proc.stdin.close()


def test_finished_command_leaves_with_its_output_and_status(trained_model, tmp_path):
    """A finished command leaves without Python's shutdown (0.6 s with torch loaded): what it wrote to a
    pipe must still arrive whole, and its exit status must be the command's own."""
    cmd = [sys.executable, "-m", "vaeguard", "score", str(NEW), "--model", str(trained_model), "--out", "-", "-q"]
    piped = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    assert piped.returncode == 0, piped.stderr.decode()
    rows = pd.read_csv(io.BytesIO(piped.stdout))
    assert len(rows) == len(pd.read_csv(NEW)) and "is_anomaly" in rows.columns
    flagged = subprocess.run([*cmd[:-3], "--out", str(tmp_path / "o.csv"), "--fail-on-anomaly", "--json"], capture_output=True, cwd=ROOT)
    summary = json.loads(flagged.stdout)
    assert flagged.returncode == (1 if summary["flagged"] else 0) and summary["rows"] == len(rows)
    assert len(pd.read_csv(tmp_path / "o.csv")) == len(rows)


@pytest.mark.slow
def test_sigkill_during_calibrate_keeps_a_valid_model(model_copy, tmp_path):
    fresh = tmp_path / "fresh.csv"
    pd.concat([pd.read_csv(SAMPLE / "flows_train.csv")] * 20, ignore_index=True).to_csv(fresh, index=False)
    before = (model_copy / "manifest.json").read_bytes()
    outcomes = set()
    for delay in (0.3, 1.0, 1.5, 2.0, 3.0, 6.0):
        _kill_during(["calibrate", str(fresh), "--model", str(model_copy), "--fpr", "0.05", "-q"], delay)
        now = (model_copy / "manifest.json").read_bytes()
        outcomes.add("old" if now == before else "new")
        guard = VAEGuard.load(model_copy)  # old or new, never half-written
        if now != before:
            assert guard.calibration_.target == 0.05
    assert "old" in outcomes, "every calibrate finished before it could be killed; the test proved nothing"


# ---- fuzzing -----------------------------------------------------------------------------------------
cell = st.one_of(
    st.none(),
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from(["a", "b", "tcp", "", " ", "1e308", "NaN", "é", "x,y", '"q"', "0"]),
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 4),
    data=st.data(),
)
def test_fuzz_fit_and_score_never_crash(runner, tmp_path_factory, rows, cols, data):
    tmp = tmp_path_factory.mktemp("fuzz")
    table = {f"c{j}": data.draw(st.lists(cell, min_size=rows, max_size=rows)) for j in range(cols)}
    df = pd.DataFrame(table)
    path = tmp / "t.csv"
    df.to_csv(path, index=False)
    model = tmp / "m"
    res = invoke(runner, "fit", path, "--model", model, "--epochs", "1", "-q")
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output and "internal error" not in res.output
    if res.exit_code != 0:
        return
    out = tmp / "o.csv"
    res = invoke(runner, "score", path, "--model", model, "--out", out, "-q")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert len(got) == rows
    assert np.isfinite(got["anomaly_score"]).all()


# ---- fit and score read a file alike --------------------------------------------------------------
def awkward_table(n: int = 1200) -> pd.DataFrame:
    """Columns that fit's typed readers and score's text readers could take differently."""
    rng = np.random.default_rng(7)

    def gaps(values, share=0.2):
        out = np.asarray(values, dtype=object)
        out[rng.random(len(out)) < share] = None
        return out

    return pd.DataFrame({
        "bytes": rng.lognormal(6, 2, n).round().astype(int),
        "duration": gaps(rng.exponential(1, n).round(4)),
        "pkts": gaps(rng.integers(0, 100, n)),
        "syn": gaps(rng.choice([True, False], n)),
        "service": gaps(rng.choice(["http", "dns", "ssh"], n)),
        "state_code": gaps(rng.choice([1, 2, 3], n)),
        "dport": rng.choice([80, 443, 53, 8080], n),
        "zip": rng.choice(["007", "010", "123"], n),
        "ratio": rng.choice([1.0, 2.0, 0.30000000000000004], n),
        "mixed": rng.choice(["1", "2", "a"], n),
        "missed_bytes": 0,
        "note": rng.choice(["ok", "None"], n),  # a no-value mark in a CSV, a word in JSON and Parquet
        "when": pd.date_range("2024-01-01", periods=n, freq="min").astype(str),
        "history": gaps(rng.choice(["ShADadFf", "Dd", "S", "ShAdDaFf^"], n), 0.1),  # each letter a feature too
    })


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_the_training_file_scores_as_it_was_fitted(runner, tmp_path, fmt):
    """Scoring the very rows a model was fitted on finds no unseen value, new gap, changed constant or
    text in a number column: fit's reader and score's agree on every value."""
    df = awkward_table()
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "json":
        path.write_text("".join(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items() if v is not None}) + "\n"
                                for r in df.to_dict("records")))
    else:
        df.astype({"pkts": "Int64", "syn": "boolean", "state_code": "Int64"}).to_parquet(path, index=False)
    model = tmp_path / "m"
    assert invoke(runner, "fit", path, "--model", model, "--epochs", "3", "-q").exit_code == 0
    res = invoke(runner, "score", path, "--model", model, "--out", tmp_path / "o.csv", "--json")
    summary = json.loads(res.stdout)
    found = {k: summary[k] for k in ("unseen_categories", "new_missing", "constants_changed", "malformed") if summary[k]}
    assert not found, found
