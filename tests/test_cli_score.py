"""`vaeguard score` in-process: outputs, streaming, flags, formats and exit codes."""

from __future__ import annotations

import csv
import gzip
import io
import importlib.util
import json
import tempfile

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from vaeguard.scoring import SCORE_COLUMNS

from .conftest import SAMPLE, assert_scored_alike, invoke, live_pipe, make_flows

NEW = SAMPLE / "flows_new.csv"


def score_to(runner, model, out, *extra, src=NEW):
    res = invoke(runner, "score", src, "--model", model, "--out", out, *extra)
    assert res.exit_code == 0, res.output
    return res


def assert_read_as(runner, model, ref, tmp_path, files: dict[str, bytes], stdin: str, plain):
    """Each of `files` (name -> bytes) scores to `ref`'s bytes, and so does `files[stdin]` from stdin; a fit
    on that file sets the threshold a fit on `plain`, the same rows written plainly, does."""
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out = tmp_path / f"{name}.scored.csv"
        score_to(runner, model, out, src=tmp_path / name)
        assert out.read_bytes() == ref.read_bytes(), name
    res = invoke(runner, "score", "-", "--model", model, "-q", input=files[stdin])
    assert res.exit_code == 0 and res.stdout == ref.read_text(), res.output
    fitted = [invoke(runner, "fit", src, "--model", tmp_path / f"m{i}", "--epochs", "2", "--json") for i, src in enumerate((plain, tmp_path / stdin))]
    assert [r.exit_code for r in fitted] == [0, 0]
    assert json.loads(fitted[0].stdout)["threshold"] == json.loads(fitted[1].stdout)["threshold"]


def test_output_has_every_input_column_then_scores(runner, trained_model, tmp_path):
    out = tmp_path / "o.csv"
    res = score_to(runner, trained_model, out)
    df, src = pd.read_csv(out), pd.read_csv(NEW)
    assert list(df.columns) == list(src.columns) + list(SCORE_COLUMNS)
    assert len(df) == len(src)
    pd.testing.assert_frame_equal(df[src.columns], src)
    assert np.isfinite(df["anomaly_score"]).all()
    assert df["p_value"].between(0, 1).all() and set(df["is_anomaly"]) <= {0, 1}
    assert df["top_features"].str.count(";").eq(2).all()
    # The header reads as the input's did: names unquoted, so `cut -d,` and awk see them as they are.
    assert out.read_text().split("\n", 1)[0] == NEW.read_text().split("\n", 1)[0] + "," + ",".join(SCORE_COLUMNS)
    # The summary goes to stderr, and says how many rows were flagged.
    assert "rows scored" in res.stderr and "1,000" in res.stderr and "flagged" in res.stderr


def test_only_the_values_that_need_it_are_quoted(runner, trained_model, tmp_path):
    """A value holding the delimiter, a quote or a line break is quoted as CSV quotes it, and no other value is
    (pyarrow quoted every text value of a chunk that held one: an Elasticsearch export's "a, b" lists made the
    scored file 1.40x its input, now 1.25x). A value holding one of the marks the writer uses meanwhile gets
    pyarrow's quoting, and reads back the same."""
    src = pd.read_csv(NEW)
    notes = ["plain", "a, b", 'say "hi"', "two\nlines", "cr\rhere", "tab\there", "", None]
    for name, extra in (("minimal", []), ("marked", ["odd\x01byte"])):
        table = src.assign(note=[(notes + extra)[i % len(notes + extra)] for i in range(len(src))])
        path, out = tmp_path / f"{name}.csv", tmp_path / f"{name}-scored.csv"
        table.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)  # pandas leaves a lone \r unquoted otherwise
        res = invoke(runner, "score", path, "--model", trained_model, "--out", out, "-q")
        assert res.exit_code == 0, res.output
        back = pd.read_csv(out, keep_default_na=False, dtype=str)
        want = pd.read_csv(path, keep_default_na=False, dtype=str)
        pd.testing.assert_frame_equal(back[want.columns], want)
        rows = out.read_text().split("\n")
        if name == "minimal":
            assert rows[1].split(",")[src.columns.get_loc("label")] == src["label"].iloc[0]  # unquoted
            assert '"a, b"' in out.read_text() and '"say ""hi"""' in out.read_text() and '"two\nlines"' in out.read_text()
        else:
            assert rows[1].split(",")[src.columns.get_loc("label")] == f'"{src["label"].iloc[0]}"'  # pyarrow's style: every text value


def test_flags_the_sample_attacks(runner, trained_model, tmp_path):
    out = tmp_path / "o.csv"
    score_to(runner, trained_model, out)
    df = pd.read_csv(out)
    attack = df["label"] == "attack"
    assert roc_auc_score(attack, df["anomaly_score"]) > 0.95
    assert df.loc[attack, "is_anomaly"].mean() >= 0.5
    assert df.loc[~attack, "is_anomaly"].mean() < 0.05
    # Higher score, lower p-value.
    order = np.argsort(df["anomaly_score"].to_numpy())
    assert np.all(np.diff(df["p_value"].to_numpy()[order]) <= 1e-12)


def test_only_anomalies(runner, trained_model, tmp_path):
    full, only = tmp_path / "full.csv", tmp_path / "only.csv"
    score_to(runner, trained_model, full)
    score_to(runner, trained_model, only, "--only-anomalies")
    a, b = pd.read_csv(full), pd.read_csv(only)
    assert len(b) == a["is_anomaly"].sum() > 0
    assert (b["is_anomaly"] == 1).all()


def test_chunk_size_does_not_change_scores(runner, trained_model, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    score_to(runner, trained_model, a, "--chunk-size", "100000")
    score_to(runner, trained_model, b, "--chunk-size", "37")
    assert_scored_alike(pd.read_csv(b), pd.read_csv(a))


def test_stdin_to_stdout(runner, trained_model):
    res = invoke(runner, "score", "-", "--model", trained_model, "-q", input=NEW.read_text())
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout))
    assert len(df) == 1000 and "anomaly_score" in df.columns


def test_a_pipe_given_by_name_is_read_once_as_stdin_is(runner, trained_model, tmp_path):
    """`vaeguard score <(zcat flows.csv.gz)` names a pipe: peeking at its first bytes for the format, then
    opening it again, left a header and no rows; it is now opened once, and a compressed stream in it too."""
    import os
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    for i, payload in enumerate((NEW.read_bytes(), gzip.compress(NEW.read_bytes()))):
        fifo = tmp_path / f"pipe{i}"
        os.mkfifo(fifo)
        writer = threading.Thread(target=fifo.write_bytes, args=(payload,), daemon=True)
        writer.start()
        out = tmp_path / f"o{i}.csv"
        res = invoke(runner, "score", fifo, "--model", trained_model, "--out", out, "-q")
        writer.join(timeout=30)
        assert res.exit_code == 0, res.output
        pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(ref))
    # Parquet, whose reader seeks, is read from a copy on disk (none is left behind); a cut one is told as such.
    pd.read_csv(NEW).to_parquet(tmp_path / "new.parquet", index=False)
    before = set(os.listdir(tempfile.gettempdir()))
    for i, payload in enumerate(((tmp_path / "new.parquet").read_bytes(), b"PAR1" + b"\0" * 64)):
        fifo = tmp_path / f"pipe-parquet{i}"
        os.mkfifo(fifo)
        writer = threading.Thread(target=fifo.write_bytes, args=(payload,), daemon=True)
        writer.start()
        res = invoke(runner, "score", fifo, "--model", trained_model, "--out", tmp_path / "p.csv")
        writer.join(timeout=30)
        if i == 0:
            assert res.exit_code == 0, res.output
            np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["anomaly_score"], pd.read_csv(ref)["anomaly_score"], rtol=1e-12)
        else:
            assert res.exit_code == 2 and f"cannot read '{fifo}' as Parquet" in " ".join(res.stderr.split()), res.output
    assert set(os.listdir(tempfile.gettempdir())) <= before


def test_score_writes_a_live_pipes_rows_as_they_come(runner, trained_model, tmp_path):
    """`tail -n +1 -F flows.csv | vaeguard score - --out - | ...`: rows written before the writer pauses are
    scored and written out then, while the input is still open; it used to wait for a megabyte's block and
    a chunk of 100,000 rows. The writer holds its other 700 rows until 301 lines (the header and 300 rows)
    have come out, or 20 s have passed."""
    import os
    import threading

    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    lines = NEW.read_bytes().splitlines(keepends=True)
    live_in, out_so_far, writer = live_pipe(tmp_path, b"".join(lines[:301]), b"".join(lines[301:]), name="in")
    live_out = tmp_path / "out"
    os.mkfifo(live_out)
    got: list[bytes] = []

    def read_scores():
        with open(live_out, "rb") as fh:
            for line in fh:
                got.append(line)
                if len(got) == 301:
                    out_so_far.set()

    reader = threading.Thread(target=read_scores, daemon=True)
    reader.start()
    res = invoke(runner, "score", live_in, "--model", trained_model, "--out", live_out, "-q")
    for t in (reader, writer):
        t.join(30)
    assert res.exit_code == 0, res.output
    assert out_so_far.in_time
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(b"".join(got))), pd.read_csv(ref))


def test_a_live_pipe_tells_drift_when_the_rows_so_far_show_it(trained_model, tmp_path):
    """A live pipe may never close, and the summary with it: drift is told once the rows so far show it.
    The first 300 rows all hold a service training never saw; the writer holds the other 700 back until
    drift has been told (or 20 s have passed)."""
    from vaeguard.pipeline import score_file
    from vaeguard.sources import open_source

    rows = pd.read_csv(NEW)
    rows.loc[:299, "service"] = "gopher"
    text = rows.to_csv(index=False).encode().splitlines(keepends=True)
    fifo, told, writer = live_pipe(tmp_path, b"".join(text[:301]), b"".join(text[301:]))
    heard = []
    run = score_file(open_source(str(fifo)), trained_model, str(tmp_path / "o.csv"), on_drift=lambda d: (heard.append(d), told.set()))
    writer.join(30)
    assert told.in_time and len(heard) == 1 and heard[0].started and heard[0].check.flag_rate > 0.9
    assert heard[0].message().startswith("drift: 100.0% of rows flagged")
    assert run.report.rows == 1000 and run.drift.drift and run.interrupted is None and not run.until_met
    # A file's drift is told once, in the summary, not also as the run goes.
    (tmp_path / "drifted.csv").write_bytes(b"".join(text))
    run = score_file(str(tmp_path / "drifted.csv"), trained_model, str(tmp_path / "o.csv"), on_drift=heard.append)
    assert run.drift.drift and len(heard) == 1


def test_a_live_run_tells_each_spell_of_drift_as_it_begins_and_ends(trained_model, tmp_path):
    """`tail -F` for days: drift is told where a spell begins and where a whole window of rows after it no
    longer shows it, then again where the next begins; it used to be told once a run. The pipe gives 300
    rows of a service training never saw, then a window's worth of rows the model passes, then 300 more
    of that service; the writer waits for each part to be told of before it writes the next (and holds the
    pipe open after the last, as `tail -F` does)."""
    from vaeguard.detector import Detector
    from vaeguard.drift import DriftWatch
    from vaeguard.pipeline import score_file
    from vaeguard.sources import open_source

    rows = pd.read_csv(NEW)
    passed = rows[Detector.load(trained_model).predict(rows) == 1]
    window = DriftWatch(Detector.load(trained_model)).window_rows
    quiet = pd.concat([passed] * (window // len(passed) + 1), ignore_index=True)
    gopher = rows.head(300).assign(service="gopher")
    parts = [frame.to_csv(index=False, header=i == 0).encode() for i, frame in enumerate([gopher, quiet, gopher])]
    fifo, told, writer = live_pipe(tmp_path, parts[0], [*parts[1:], b""])
    heard = []
    run = score_file(open_source(str(fifo)), trained_model, str(tmp_path / "o.csv"), on_drift=lambda d: (heard.append(d), told.set()))
    writer.join(30)
    assert told.in_time and run.report.rows == 600 + len(quiet)
    assert [(h.started, h.first_row, h.last_row) for h in heard] == [
        (True, 1, 300), (False, 301, 300 + len(quiet)), (True, 301 + len(quiet), 600 + len(quiet))]
    assert heard[1].message().startswith(f"drift over: 0.0% of rows 301-{300 + len(quiet):,} flagged where")
    assert heard[2].message().startswith(f"drift: 100.0% of rows {301 + len(quiet):,}-{600 + len(quiet):,} flagged")
    # The summary and --json name every spell, where stderr's last lines show the latest alone.
    from vaeguard import render

    assert run.drift_spells == heard
    assert render.drift_spells(run.drift_spells).splitlines() == [
        f"rows 1-300: 100.0% flagged; over by rows 301-{300 + len(quiet):,} (0.0%)",
        f"rows {301 + len(quiet):,}-{600 + len(quiet):,}: 100.0% flagged; not over at the end"]
    spells = render.score_summary(run.detector, run, "o.csv")["drift_spells"]
    assert [(s["began"], s["first_row"], s["flag_rate"]) for s in spells] == [(True, 1, 1.0), (False, 301, 0.0), (True, 301 + len(quiet), 1.0)]
    assert "service" in spells[0]["drift_columns"] and spells[1]["drift_columns"] == []


def test_a_live_run_tells_malformed_lines_as_they_come(trained_model, tmp_path):
    """A run that never ends never gives its summary, where skipped lines were counted: a live pipe's
    malformed lines are told at the pause after them, at 1, then once their count has doubled. Each block
    of 100 rows ends with a line of too many fields: the pipe gives one block, waits to be told, gives two,
    waits again, then gives the fourth and closes (its line, the fourth, only in the summary)."""
    from vaeguard.pipeline import score_file
    from vaeguard.sources import open_source

    lines = NEW.read_bytes().splitlines(keepends=True)
    bad = b",".join(b"%d" % i for i in range(25)) + b"\n"
    blocks = [b"".join(lines[1 + 100 * i : 101 + 100 * i]) + bad for i in range(4)]
    fifo, told, writer = live_pipe(tmp_path, lines[0] + blocks[0], [blocks[1] + blocks[2], blocks[3]])
    heard = []
    run = score_file(open_source(str(fifo)), trained_model, str(tmp_path / "o.csv"), on_bad_lines=lambda t: (heard.append(t), told.set()))
    writer.join(30)
    assert told.in_time and run.report.rows == 400
    assert [t.split(": ", 1)[1].split(" (")[0] for t in heard] == ["1 malformed line skipped so far", "3 malformed lines skipped so far"]
    assert heard[0].endswith("--strict stops at the first") and run.skipped.startswith("4 malformed lines skipped")


def test_a_live_pipe_ends_at_an_interrupt_with_its_rows_written(trained_model, tmp_path):
    """`tail -F` never closes the pipe, so Ctrl-C or `docker stop` is how a live run ends: the rows read
    so far are scored, written (the output file renamed into place) and counted, where the run used to
    fail with \"no output file was written\". A file's run still fails as before."""
    from vaeguard.pipeline import score_file
    from vaeguard.sources import open_source

    text = NEW.read_bytes().splitlines(keepends=True)
    fifo, done, writer = live_pipe(tmp_path, b"".join(text[:301]), b"")

    def interrupt(rows):
        raise KeyboardInterrupt

    out = tmp_path / "o.csv"
    try:
        run = score_file(open_source(str(fifo)), trained_model, str(out), on_rows=interrupt)
    finally:
        done.set()
        writer.join(30)
    from vaeguard.cli_common import stopped_by

    assert stopped_by(run.interrupted) == ("interrupted", 130) and run.report.rows == 300
    score_file(str(NEW), trained_model, str(tmp_path / "ref.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(tmp_path / "ref.csv").head(300))
    with pytest.raises(KeyboardInterrupt):
        score_file(str(NEW), trained_model, str(tmp_path / "f.csv"), on_rows=interrupt)
    assert not (tmp_path / "f.csv").exists()


def test_score_of_stdin_stopped_by_a_signal_or_an_alarm_sums_up_and_exits(trained_model, tmp_path, request):
    """The command itself, in a process of its own with stdin a pipe its writer holds open, as
    `tail -F ... | vaeguard score -` runs: a signal ends it (exit 130 or 143), and so does --fail-on-anomaly
    at the first pause after a flagged row (exit 1: an alarm, which a run that never ends could not give);
    the rows so far are on stdout and the summary says how many."""
    import signal
    import subprocess
    import sys
    import threading

    lines = NEW.read_bytes().splitlines(keepends=True)
    # A shell that runs the suite in the background ignores SIGINT in it, and a child inherits that (as
    # `nohup vaeguard score` should): the command is run here as a terminal runs it.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        request.addfinalizer(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    for sig, extra, code, told in (
        (signal.SIGINT, (), 130, "interrupted: the 300 rows read from the pipe so far are scored and written"),
        (signal.SIGTERM, (), 143, "terminated (SIGTERM): the 300 rows read from the pipe so far are scored and written"),
        (None, ("--fail-on-anomaly",), 1, "stopped reading the pipe at a row was flagged (--fail-on-anomaly): its 300 rows so far"),
    ):
        p = subprocess.Popen([sys.executable, "-m", "vaeguard", "score", "-", "--model", str(trained_model), "--out", "-", *extra],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out: list[bytes] = []
        scored = threading.Event()

        def read_scores():
            for line in p.stdout:
                out.append(line)
                if len(out) == 301:  # the header and 300 rows, scored while stdin is still open
                    scored.set()

        reader = threading.Thread(target=read_scores, daemon=True)
        reader.start()
        try:
            p.stdin.write(b"".join(lines[:301]))
            p.stdin.flush()
            assert scored.wait(60)
            if sig is not None:
                p.send_signal(sig)
            p.wait(60)  # before stderr is read, which a command that never ended would block for good
            err = p.stderr.read()
            reader.join(30)
        finally:
            p.kill()
        assert p.returncode == code, err.decode()
        assert len(pd.read_csv(io.BytesIO(b"".join(out)))) == 300
        assert told in err.decode()


def test_parquet_and_gzip_in_and_out(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW)
    pq, gz = tmp_path / "in.parquet", tmp_path / "in.csv.gz"
    src.to_parquet(pq)
    with gzip.open(gz, "wt") as f:
        src.to_csv(f, index=False)
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    expected = pd.read_csv(ref)["anomaly_score"].to_numpy()
    for inp, out in ((pq, tmp_path / "o.parquet"), (gz, tmp_path / "o.csv.gz"), (pq, tmp_path / "o2.csv")):
        score_to(runner, trained_model, out, "--chunk-size", "300", src=inp)
        got = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
        np.testing.assert_allclose(got["anomaly_score"].to_numpy(), expected, rtol=1e-6)
    # --out-format overrides the extension.
    odd = tmp_path / "scores.bin"
    score_to(runner, trained_model, odd, "--out-format", "parquet")
    assert len(pd.read_parquet(odd)) == 1000
    # .tsv is tab-separated, compressed or not (it had been comma-separated under a .tsv name).
    for out in (tmp_path / "o.tsv", tmp_path / "o.tsv.gz"):
        score_to(runner, trained_model, out)
        got = pd.read_csv(out, sep="\t")
        assert list(got.columns) == list(src.columns) + list(SCORE_COLUMNS)
        np.testing.assert_array_equal(got["anomaly_score"].to_numpy(), expected)


def test_utf16_and_utf32_text_reads_as_utf8(runner, trained_model, tmp_path):
    """Excel's "Unicode Text" and Windows PowerShell write UTF-16: read as it is, with or without a
    byte-order mark, gzipped or from stdin, it scores as the UTF-8 file does, to the byte."""
    text = NEW.read_text()
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    files = {
        "utf-16.csv": text.encode("utf-16"),  # a byte-order mark, then little-endian
        "utf-16-be.csv": b"\xfe\xff" + text.encode("utf-16-be"),
        "utf-32.csv": text.encode("utf-32"),
        "no-mark.csv": text.encode("utf-16-le"),
        "utf-16.txt": text.replace(",", "\t").encode("utf-16"),  # Excel's export: tab-separated
        "utf-16.csv.gz": gzip.compress(text.encode("utf-16")),
    }
    assert_read_as(runner, trained_model, ref, tmp_path, files, "utf-16.csv", NEW)
    cut = tmp_path / "cut.csv"
    cut.write_bytes(files["utf-16.csv"] + b"A")  # half a character at the end
    res = invoke(runner, "score", cut, "--model", trained_model, "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and "UTF-16" in res.stderr and "re-save it as UTF-8" in res.stderr, res.output
    assert not (tmp_path / "o.csv").exists()


def test_bzip2_and_xz_compressed_input(runner, trained_model, tmp_path):
    """Rotated logs that logrotate compressed with bzip2 or xz read as gzip ones do, from stdin too, where a
    bzip2 block (up to 900 kB of text) is more than the first bytes looked at; what cannot be read (a cut
    file, zstd, a packet capture) is one clean error that says what to do."""
    import bz2
    import lzma

    text = NEW.read_bytes()
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    assert_read_as(runner, trained_model, ref, tmp_path, {"x.csv.bz2": bz2.compress(text), "x.csv.xz": lzma.compress(text)}, "x.csv.bz2", NEW)
    big = make_flows(20_000).to_csv(index=False).encode()
    (tmp_path / "big.csv").write_bytes(big)
    assert len(bz2.compress(big)) > 2 * 65536
    fitted = [invoke(runner, "fit", tmp_path / "big.csv", "--model", tmp_path / "b1", "--epochs", "1", "--json"),
              invoke(runner, "fit", "-", "--model", tmp_path / "b2", "--epochs", "1", "--json", input=bz2.compress(big))]
    assert [r.exit_code for r in fitted] == [0, 0], fitted[1].output
    assert json.loads(fitted[0].stdout)["threshold"] == json.loads(fitted[1].stdout)["threshold"]
    bad = {
        "cut.csv.bz2": (bz2.compress(big)[:3000], "is bzip2-compressed but ends before any of it decompresses"),
        "x.csv.zst": (b"\x28\xb5\x2f\xfd" + bytes(200), "compressed with zstd"),
        "c.pcap": (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(200), "a packet capture (pcap), not a table of flows: turn it into flows first, e.g. `zeek -r"),
    }
    for name, (data, message) in bad.items():
        (tmp_path / name).write_bytes(data)
        res = invoke(runner, "score", tmp_path / name, "--model", trained_model, "--out", tmp_path / "o.csv")
        assert res.exit_code == 2 and message in res.stderr and len(res.stderr.strip().splitlines()) == 1, (name, res.output)


def test_a_json_array_of_records_reads_as_json_lines(runner, trained_model, tmp_path):
    """`[{...}, {...}]`, compact or pretty-printed (jq -s, pandas' to_json, an API's export), scores as the
    same records one per line do, to the byte; a record that runs past a read block included."""
    records = [dict(r, note="x" * 3000) for r in json.loads(pd.read_csv(NEW).to_json(orient="records"))]
    lines = tmp_path / "lines.json"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records))  # 3 MB: records cross 1 MiB blocks
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref, src=lines)
    files = {"compact.json": json.dumps(records).encode(), "pretty.json": json.dumps(records, indent=2).encode()}
    files["pretty.json.gz"] = gzip.compress(files["pretty.json"])
    assert_read_as(runner, trained_model, ref, tmp_path, files, "pretty.json", lines)
    broken = {
        "cut.json": (files["compact.json"][:-5000], "ends before its JSON array closes"),
        "numbers.json": (b"[1, 2, 3]", "a JSON array of numbers, not of records"),
        "empty.json": (b"[ ]\n", "its JSON array holds no records"),
        "bad.json": (files["compact.json"].replace(b'"proto"', b"proto", 1), "not a valid JSON array: Expecting property name enclosed in double quotes in record 1"),
        # Python's parser gives up past about a thousand levels (a RecursionError: an internal error, exit 3, before).
        "deep.json": (b"[" + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]", "record 1 is nested deeper than Python reads"),
        "long-line.csv": (NEW.read_bytes().replace(b"\n", b"\n" + b"1," * 1_500_000 + b"\n", 1), "has a line of more than a MiB"),
    }
    for name, (data, message) in broken.items():
        (tmp_path / name).write_bytes(data)
        res = invoke(runner, "score", tmp_path / name, "--model", trained_model, "--out", tmp_path / "o.csv")
        assert res.exit_code == 2 and message in res.stderr and len(res.stderr.strip().splitlines()) == 1, (name, res.output)
        assert not (tmp_path / "o.csv").exists()


def test_a_json_line_nested_deeper_than_python_parses_is_read(runner, trained_model, tmp_path):
    """A record nested deeper than Python's parser goes (about a thousand levels) was an internal error
    (exit 3) where the reader looked for Zeek's or Suricata's keys among the first lines; the rows are read
    (the deep ones hold none of the model's columns: every one missing)."""
    records = [json.dumps(r) for r in json.loads(pd.read_csv(NEW).to_json(orient="records"))]
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    path = tmp_path / "deep.json"
    path.write_text("\n".join([deep] + records + [deep]) + "\n")
    res = invoke(runner, "score", path, "--model", trained_model, "--out", tmp_path / "o.csv", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == len(records) + 2
    path.write_text((deep + "\n") * 20)  # nothing else to learn from: the error names its column, shortened
    res = invoke(runner, "fit", path, "--model", tmp_path / "m", "--epochs", "2")
    assert res.exit_code == 2 and "no usable columns" in res.stderr and len(res.stderr) < 300, res.stderr


def test_lines_above_a_csv_header_are_left_out(runner, trained_model, tmp_path):
    """A tool's note above the header ("# exported by ...", commas and all) or a title is not the header:
    the rows score as without it, and the summary says what was left out. A first column named '#' stays
    a column, and a table of one column keeps its first line."""
    text = NEW.read_text()
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    noted = "# nfdump export, 2026-11-02\n#\n# filter: net 10.0.0.0/8, port 53\n" + text
    noted_first = "3 lines above the header left out (e.g. '# nfdump export, 2026-11-02')"
    files = {  # name -> (bytes, what the summary says was left out)
        "noted.csv": (noted.encode(), noted_first),
        "noted.csv.gz": (gzip.compress(noted.encode()), noted_first),
        "noted-bom.csv": (noted.encode("utf-8-sig"), noted_first),
        "noted-utf16.csv": (noted.encode("utf-16"), noted_first),
        "titled.csv": (("Flow export from sensor-1\nGenerated 2026-11-02 00:00\n\n" + text).encode(),
                       "3 lines above the header left out (e.g. 'Flow export from sensor-1')"),
        # Excel's line naming the delimiter, above a semicolon-separated table
        "excel.csv": (("sep=;\n" + text.replace(",", ";")).encode(), "1 line above the header left out (e.g. 'sep=;')"),
    }
    assert_read_as(runner, trained_model, ref, tmp_path, {name: data for name, (data, _) in files.items()}, "noted.csv", NEW)
    for name, (_, skipped) in files.items():
        res = score_to(runner, trained_model, tmp_path / "o.csv", "--json", src=tmp_path / name)
        assert json.loads(res.stdout)["skipped"] == skipped, name
    lines = text.splitlines()
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("#," + lines[0] + "\n" + "".join(f"{i},{line}\n" for i, line in enumerate(lines[1:])))
    out = tmp_path / "numbered.scored.csv"
    score_to(runner, trained_model, out, src=numbered)
    got = pd.read_csv(out)
    assert list(got.columns[:2]) == ["#", "flow_id"] and got["#"].tolist() == list(range(1000))
    np.testing.assert_array_equal(got["anomaly_score"].to_numpy(), pd.read_csv(ref)["anomaly_score"].to_numpy())
    one = tmp_path / "one.csv"
    one.write_text("Title\nvalue\n" + "".join(f"{i % 7}\n" for i in range(60)))
    res = invoke(runner, "fit", one, "--model", tmp_path / "m1", "--epochs", "1", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["rows_read"] == 61, res.output


def test_a_tab_separated_header_is_not_taken_for_a_title(runner, tmp_path):
    """A first row that splits as evenly at its commas as at its tabs ('$2,261<TAB>1.5<TAB>[1, 2]') had made
    the header, one field at commas, look like a title above the table: it was left out, and the first row
    named the columns."""
    rng = np.random.default_rng(0)
    rows = [f"${rng.integers(1000, 9999):,}\t{rng.normal():.3f}\t{'[]' if i % 2 else '[1, 2]'}\n" for i in range(60)]
    table = tmp_path / "t.tsv"
    table.write_text("amount\tvalue\tmembers\n" + "".join(rows))
    res = invoke(runner, "fit", table, "--model", tmp_path / "m", "--epochs", "1", "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert [c["name"] for c in got["columns"]] == ["amount", "value", "members"] and got["rows_read"] == 60 and not got["skipped"]


def test_parquet_output_from_csv_keeps_numbers_typed(runner, trained_model, tmp_path):
    """A CSV is read as text; its Parquet output still types numbers (as pyarrow's CSV reader would),
    and a later value that does not fit its column's type becomes a null, counted and warned about."""
    src = pd.read_csv(NEW)
    out = tmp_path / "o.parquet"
    score_to(runner, trained_model, out)
    got = pd.read_parquet(out)
    for col in ("src_bytes", "dst_bytes", "packets", "syn_count"):
        assert got[col].dtype == "int64", col
    for col in ("duration", "error_rate"):
        assert got[col].dtype == "float64", col
    assert got["proto"].map(type).eq(str).all() and got["start_time"].map(type).eq(str).all()
    pd.testing.assert_frame_equal(got[src.columns], src, check_dtype=False)

    dirty = src.astype(object)
    dirty.loc[700, "src_bytes"] = "oops"  # after the first chunk of 300 rows
    dirty.loc[800, "packets"] = "2.5"
    bad = tmp_path / "dirty.csv"
    dirty.to_csv(bad, index=False)
    res = invoke(runner, "score", bad, "--model", trained_model, "--out", out, "--chunk-size", "300", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["written_as_null"] == {"src_bytes": 1, "packets": 1}
    got = pd.read_parquet(out)
    assert got["src_bytes"].isna().sum() == 1 and pd.isna(got.loc[700, "src_bytes"])
    assert pd.isna(got.loc[800, "packets"]) and got["packets"].notna().sum() == 999
    res = invoke(runner, "score", bad, "--model", trained_model, "--out", out, "--chunk-size", "300")
    assert "written to the Parquet output as nulls: src_bytes (1), packets (1)" in " ".join(res.stderr.split())


def test_parquet_output_of_a_list_column_past_its_first_chunk(tmp_path):
    """A set's members are typed by the first chunk: a member there that is no such value keeps the column's
    lists as text; a later one is a null member, counted as a number column's is. A column no format calls a
    list stays as it is."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vaeguard.io import AtomicTableWriter

    out = tmp_path / "o.parquet"
    hints = {"ports": "vector[count]", "flags": "set[bool]", "names": "vector[count]"}
    with AtomicTableWriter(str(out), value_types=hints) as writer:
        writer.write(pd.DataFrame({"ports": ["80,443", "(empty)", None], "flags": ["T,F", "T", "(empty)"],
                                   "names": ["1,two", "3", "4"], "plain": ["1,2", "3", "4"]}))
        writer.write(pd.DataFrame({"ports": ["22,x", "1.5"], "flags": ["F,maybe", None], "names": ["5", "six"], "plain": ["5", "6"]}))
    got = pq.read_table(out)
    assert got.schema.field("ports").type == pa.list_(pa.int64()) and got.schema.field("names").type == pa.list_(pa.string())
    assert got.schema.field("flags").type == pa.list_(pa.bool_()) and got["plain"].to_pylist() == ["1,2", "3", "4", "5", "6"]
    assert got["ports"].to_pylist() == [[80, 443], [], None, [22, None], [None]]
    assert got["flags"].to_pylist() == [[True, False], [True], [], [False, None], None]
    assert got["names"].to_pylist() == [["1", "two"], ["3"], ["4"], ["5"], ["six"]]
    assert writer.not_numbers == {"ports": 2, "flags": 1}


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz", "json.gz"])
def test_stdout_takes_every_output_format(runner, trained_model, tmp_path, monkeypatch, fmt):
    """`--out - --out-format parquet` had written a file named '-' in the working folder and nothing to stdout,
    and csv.gz or json.gz plain text: stdout now gets the format asked for, and no file is left behind."""
    import gzip
    import io as stdio

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    res = invoke(runner, "score", NEW, "--model", trained_model, "--out", "-", "--out-format", fmt, "-q")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    data = res.stdout_bytes
    if fmt == "parquet":
        got = pd.read_parquet(stdio.BytesIO(data))
    else:
        text = gzip.decompress(data)
        got = pd.read_csv(stdio.BytesIO(text)) if fmt == "csv.gz" else pd.read_json(stdio.BytesIO(text), lines=True)
    assert len(got) == len(pd.read_csv(NEW)) and "anomaly_score" in got


def test_a_parquet_list_of_numbers_or_bools_is_written_as_a_zeek_set():
    """Text outputs write a Parquet input's list as a Zeek set whatever its members' type (an int32 or a
    double list had been written as JSON, `[0, 1]`, and an empty one as `[]`)."""
    import pyarrow as pa

    from vaeguard.io import _as_text_columns

    table = pa.table({"ints": pa.array([[0, 1], [], None], pa.list_(pa.int32())), "doubles": pa.array([[0.5], [300.0, 2.0], []]),
                      "bools": pa.array([[True], [False, True], []])})
    written = _as_text_columns(table).to_pydict()
    assert written == {"ints": ["0,1", "(empty)", None], "doubles": ["0.5", "300,2", "(empty)"], "bools": ["true", "false,true", "(empty)"]}


def test_parquet_output_keeps_a_parquet_inputs_types(runner, trained_model, tmp_path):
    """Through pandas, an int64 column with a gap became float64, decimal128(12, 4) took the precision of
    its values and a dictionary's int32 indices shrank to int8; the output now has the input's types."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    src = pd.read_csv(NEW)
    table = pa.Table.from_pandas(src, preserve_index=False)
    src_bytes = pa.array(src["src_bytes"].astype("Int64").mask(src.index == 5), pa.int64())
    duration = pa.array([None if v != v else decimal.Decimal(f"{v:.4f}") for v in src["duration"]], pa.decimal128(12, 4))
    for name, column in (("src_bytes", src_bytes), ("duration", duration), ("packets", table["packets"].cast(pa.int32())),
                         ("proto", table["proto"].dictionary_encode())):
        table = table.set_column(table.schema.get_field_index(name), name, column)
    inp, out = tmp_path / "typed.parquet", tmp_path / "o.parquet"
    pq.write_table(table, inp)
    score_to(runner, trained_model, out, "--chunk-size", "300", src=inp)
    got, want = pq.read_schema(out), pq.read_schema(inp)
    for field in want:
        assert got.field(field.name).type == field.type, field.name
    scored = pq.read_table(out)
    assert scored["src_bytes"].null_count == 1 and scored["src_bytes"].to_pylist()[6] == src["src_bytes"][6]
    ref = tmp_path / "ref.csv"
    score_to(runner, trained_model, ref)
    np.testing.assert_allclose(scored["anomaly_score"].to_numpy()[6:], pd.read_csv(ref)["anomaly_score"].to_numpy()[6:], rtol=1e-5)


def test_fail_on_anomaly_exit_code(runner, trained_model, tmp_path):
    res = invoke(runner, "score", NEW, "--model", trained_model, "--out", tmp_path / "o.csv", "--fail-on-anomaly", "-q")
    assert res.exit_code == 1
    normal = tmp_path / "normal.csv"
    pd.read_csv(NEW).query("label == 'normal'").head(20).to_csv(normal, index=False)
    res = invoke(runner, "score", normal, "--model", trained_model, "--out", tmp_path / "o2.csv", "--fail-on-anomaly", "-q")
    assert res.exit_code == 0, res.output


def test_extra_columns_and_other_order_pass_through(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW)
    shuffled = src[src.columns[::-1]].assign(**{"note, free text": "x"})  # a name that needs quoting keeps them
    path, out, ref = tmp_path / "s.csv", tmp_path / "o.csv", tmp_path / "ref.csv"
    shuffled.to_csv(path, index=False)
    score_to(runner, trained_model, out, src=path)
    score_to(runner, trained_model, ref)
    got = pd.read_csv(out)
    assert list(got.columns[: len(shuffled.columns)]) == list(shuffled.columns)
    assert '"note, free text"' in out.read_text().split("\n", 1)[0]
    np.testing.assert_array_equal(got["anomaly_score"], pd.read_csv(ref)["anomaly_score"])


def test_unseen_category_raises_score_not_crash(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW).query("label == 'normal'").head(50).reset_index(drop=True)
    odd = src.copy()
    odd["service"] = "never-seen-before"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    src.to_csv(a, index=False)
    odd.to_csv(b, index=False)
    score_to(runner, trained_model, tmp_path / "oa.csv", src=a)
    res = score_to(runner, trained_model, tmp_path / "ob.csv", src=b)
    sa = pd.read_csv(tmp_path / "oa.csv")["anomaly_score"]
    sb = pd.read_csv(tmp_path / "ob.csv")
    assert (sb["anomaly_score"] > sa).all()
    assert sb["top_features"].str.startswith("service").mean() > 0.9
    assert "unseen" in res.stderr and "service: 50" in res.stderr


def test_text_in_numeric_column_at_score_time(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW).astype({"src_bytes": object})
    src.loc[[1, 2, 3], "src_bytes"] = "lots"
    path = tmp_path / "dirty.csv"
    src.to_csv(path, index=False)
    res = invoke(runner, "score", path, "--model", trained_model, "--out", tmp_path / "s.csv", "--strict")
    assert res.exit_code == 2
    assert "'src_bytes'" in res.stderr and "3 rows" in res.stderr and "--strict" in res.stderr
    assert not (tmp_path / "s.csv").exists()
    res = score_to(runner, trained_model, tmp_path / "o.csv", src=path)
    assert "text in numeric columns" in res.stderr and "src_bytes: 3" in res.stderr
    got = pd.read_csv(tmp_path / "o.csv")
    assert len(got) == 1000
    score_to(runner, trained_model, tmp_path / "c.csv")
    base = pd.read_csv(tmp_path / "c.csv")["anomaly_score"]
    # Malformed evidence never makes a row look more normal.
    assert (got["anomaly_score"][[1, 2, 3]] > base[[1, 2, 3]]).all()


def test_missing_values_score_finite(runner, trained_model, tmp_path):
    src = pd.read_csv(NEW)
    src.loc[::7, "dst_bytes"] = np.nan
    src.loc[::5, "flag"] = np.nan
    path = tmp_path / "gaps.csv"
    src.to_csv(path, index=False)
    score_to(runner, trained_model, tmp_path / "o.csv", src=path)
    assert np.isfinite(pd.read_csv(tmp_path / "o.csv")["anomaly_score"]).all()


def test_quiet_score_to_file_prints_nothing(runner, trained_model, tmp_path):
    res = score_to(runner, trained_model, tmp_path / "o.csv", "-q")
    assert res.output == ""


def test_out_to_a_pipe_or_through_a_link(runner, trained_model, tmp_path):
    """A device or a pipe (/dev/null, /dev/stdout, a FIFO) is written straight to, CSV unless told: a file
    renamed over it had replaced the pipe itself (and, run as root, /dev/null). A link to a file is
    followed: its target gets the scores and the link stays."""
    import os
    import stat
    import threading

    fifo = tmp_path / "scores"
    os.mkfifo(fifo)
    for fmt, read in ((None, lambda b: pd.read_csv(io.BytesIO(b))), ("parquet", lambda b: pd.read_parquet(io.BytesIO(b)))):
        got = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
        reader.start()
        res = invoke(runner, "score", NEW, "--model", trained_model, "--out", fifo, "-q", *(("--out-format", fmt) if fmt else ()))
        reader.join(timeout=30)
        assert res.exit_code == 0, res.output
        assert stat.S_ISFIFO(os.stat(fifo).st_mode) and len(read(got[0])) == len(pd.read_csv(NEW))
    real, link = tmp_path / "real.csv", tmp_path / "link.csv"
    real.write_text("previous\n")
    link.symlink_to(real)
    score_to(runner, trained_model, link, "-q")
    assert link.is_symlink() and len(pd.read_csv(real)) == len(pd.read_csv(NEW))


def test_failed_score_leaves_previous_output(runner, trained_model, tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("previous\n")
    src = pd.read_csv(NEW)
    # The second chunk is missing a model column: the run fails midway.
    path = tmp_path / "bad.csv"
    src.astype({"packets": object}).assign(packets=lambda d: d["packets"].where(d.index < 600, "x")).to_csv(path, index=False)
    res = invoke(runner, "score", path, "--model", trained_model, "--out", out, "--chunk-size", "200", "--strict")
    assert res.exit_code == 2
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".o.csv")] == []


def test_fail_on_drift_exit_code(runner, trained_model, tmp_path):
    """--fail-on-anomaly fires on the expected --fpr share of normal rows; --fail-on-drift only when far
    more rows are flagged than the calibration expects."""
    train = SAMPLE / "flows_train.csv"
    res = invoke(runner, "score", train, "--model", trained_model, "--out", tmp_path / "o.csv", "--fail-on-anomaly", "-q")
    assert res.exit_code == 1  # a few of the normal rows, as calibrated
    res = invoke(runner, "score", train, "--model", trained_model, "--out", tmp_path / "o.csv", "--fail-on-drift", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["flagged"] > 0 and not json.loads(res.stdout)["drift"]
    moved = tmp_path / "moved.csv"
    pd.read_csv(train).head(300).assign(service="telnet").to_csv(moved, index=False)  # a service training never held
    res = invoke(runner, "score", moved, "--model", trained_model, "--out", tmp_path / "o2.csv", "--fail-on-drift", "--json")
    assert res.exit_code == 1
    local = json.loads(res.stdout)
    assert local["drift"] and "service" in local["drift_columns"] and local["unseen_categories"] == {"service": 300}
    assert local["new_values"] == {"service": {"telnet": 300}} and local["drift_respelled"] == {}
    # Training's own services in capitals: a spelling that changed, named as one.
    shouting = tmp_path / "shouting.csv"
    pd.read_csv(train).head(300).assign(service=lambda d: d["service"].str.upper()).to_csv(shouting, index=False)
    res = invoke(runner, "score", shouting, "--model", trained_model, "--out", tmp_path / "o3.csv", "--json")
    respelled = json.loads(res.stdout)["drift_respelled"]
    assert list(respelled) == ["service"] and all(new == old.upper() for new, old in respelled["service"].items())
    res = invoke(runner, "score", shouting, "--model", trained_model, "--out", tmp_path / "o3.csv")
    assert "but for case or spaces (service: " in res.stderr
    if importlib.util.find_spec("distributed") is None:
        return
    # The Dask engine gathers every partition's counts: the same verdict, columns, warning and exit status.
    for name, rows in (("normal", pd.read_csv(train)), ("moved", pd.read_csv(moved))):
        (tmp_path / name).mkdir()
        rows.to_parquet(tmp_path / name / "part-0.parquet", index=False)
    res = invoke(runner, "score", tmp_path / "normal", "--model", trained_model, "--out", tmp_path / "d1", "--engine", "dask", "--workers", "1",
                 "--fail-on-drift", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["flagged"] > 0 and json.loads(res.stdout)["drift"] is False
    res = invoke(runner, "score", tmp_path / "moved", "--model", trained_model, "--out", tmp_path / "d2", "--engine", "dask", "--workers", "1",
                 "--fail-on-drift", "--json")
    assert res.exit_code == 1
    on_dask = json.loads(res.stdout)
    keys = ("rows", "flagged", "flag_rate", "drift", "drift_p_value", "drift_columns", "drift_respelled", "flagged_whatever_the_threshold", "unseen_categories", "flagged_hosts",
            "new_values", "malformed", "new_missing", "past_training_range")
    assert {k: on_dask[k] for k in keys} == {k: local[k] for k in keys}
    res = invoke(runner, "score", tmp_path / "moved", "--model", trained_model, "--out", tmp_path / "d3", "--engine", "dask", "--workers", "1",
                 "--fail-on-drift")
    assert res.exit_code == 1 and "drift: 100.0% of rows flagged" in res.stderr and "service" in res.stderr.split("moved most:")[1]
    assert "values unseen in training" in res.stderr and "service: 300 (telnet x300)" in res.stderr


def test_score_in_its_own_process_leaves_its_libraries_out_of_the_collector(runner, trained_model, tmp_path, monkeypatch):
    """As fit does: pandas' and pyarrow's objects, loaded with the collector paused, are frozen out of it
    (0.15 s of collections per million rows, 0.03 s after), and the collector is on again for the rows."""
    import gc

    from vaeguard import cli_common

    monkeypatch.setattr(cli_common, "OWN_PROCESS", True)
    try:
        res = invoke(runner, "score", SAMPLE / "flows_new.csv", "--model", trained_model, "--out", tmp_path / "o.csv", "-q")
        assert res.exit_code == 0, res.output
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_scores_as_json_lines_for_a_siem(runner, trained_model, tmp_path):
    """`--out flagged.json` (or .jsonl, .ndjson, .json.gz; --out-format json for stdout) writes an object per
    row, as Zeek's and Suricata's JSON logs are: a value that reads as a JSON number or true/false as written
    (a CSV is read as text, and an index wants 443, not "443"), any other text a string, lists and structs
    as arrays and objects, and a missing value left out, as Zeek leaves out an unset field."""
    new = pd.read_csv(SAMPLE / "flows_new.csv")
    csv_out, json_out = tmp_path / "s.csv", tmp_path / "s.jsonl"
    for out in (csv_out, json_out):
        assert invoke(runner, "score", SAMPLE / "flows_new.csv", "--model", trained_model, "--out", out, "-q").exit_code in (0, 1)
    rows = [json.loads(line) for line in json_out.read_text().splitlines()]
    expected = pd.read_csv(csv_out)
    assert len(rows) == len(new) and list(rows[0]) == list(expected.columns)
    assert [r["src_bytes"] for r in rows] == new["src_bytes"].tolist() and all(isinstance(r["flow_id"], str) for r in rows)
    assert [r["is_anomaly"] for r in rows] == expected["is_anomaly"].tolist()
    np.testing.assert_allclose([r["anomaly_score"] for r in rows], expected["anomaly_score"], rtol=1e-15)
    # Read back as the JSON lines it is, it scores as the CSV did.
    again = tmp_path / "again.csv"
    assert invoke(runner, "score", json_out, "--model", trained_model, "--out", again, "-q").exit_code in (0, 1)
    np.testing.assert_allclose(pd.read_csv(again)["anomaly_score"], expected["anomaly_score"], rtol=1e-12)
    # Text that JSON escapes, text that only looks like a number, gaps, lists, NaN, from Parquet.
    odd = ['q"uote', "back\\slash", "line\nbreak", "tab\there", "bell\x07", "caf\u00e9 \u540d", None, "0443", "1.", "true", "-", ""]
    n = len(odd) * 30
    table = make_flows(n).assign(note=[odd[i % len(odd)] for i in range(n)], tags=[["a", "b"] if i % 2 else [] for i in range(n)],
                                 level=[np.nan if i % 5 == 0 else i / 4 for i in range(n)])
    table.to_parquet(tmp_path / "t.parquet")
    model = tmp_path / "m"
    assert invoke(runner, "fit", tmp_path / "t.parquet", "--model", model, "--epochs", "2", "-q").exit_code == 0
    res = invoke(runner, "score", tmp_path / "t.parquet", "--model", model, "--out", "-", "--out-format", "json", "-q")
    assert res.exit_code in (0, 1), res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == n
    written = [r.get("note", "left out") for r in rows[: len(odd)]]
    assert written == [v if v is not None else "left out" for v in odd[:9]] + [True, "-", ""]
    assert [r["tags"] for r in rows[:2]] == [[], ["a", "b"]] and "level" not in rows[0] and rows[1]["level"] == 0.25
    assert invoke(runner, "score", tmp_path / "t.parquet", "--model", model, "--out", tmp_path / "z.json.gz", "-q").exit_code in (0, 1)
    assert len(gzip.decompress((tmp_path / "z.json.gz").read_bytes()).splitlines()) == n


def test_a_finalizers_recursion_error_during_a_deep_parse_is_not_reported(monkeypatch):
    """A finalizer the garbage collector runs while a deeply nested record is parsed fails at the stack's limit;
    reported, the report failed the same way and its traceback stood beside the record's one-line error."""
    import sys
    import types

    from vaeguard import sources

    heard = []
    monkeypatch.setattr(sys, "unraisablehook", heard.append)
    monkeypatch.setattr(sources, "_UNDECODABLE_HOOKED", False)
    sources._catch_undecodable_rows()
    sys.unraisablehook(types.SimpleNamespace(exc_value=RecursionError("maximum recursion depth exceeded"), object=None))
    assert heard == []
    other = types.SimpleNamespace(exc_value=ValueError("a finalizer's own fault"), object=None)
    sys.unraisablehook(other)
    assert heard == [other]


def test_the_evidence_lines_count_the_columns_they_do_not_name(runner, tmp_path):
    # Twelve columns with values training never held: eight named, most first, and the other four counted,
    # so the summary does not read as if only eight had them (--json keeps every one).
    rng = np.random.default_rng(0)
    train = pd.DataFrame({f"k{i}": rng.choice(["a", "b"], 200) for i in range(12)} | {"bytes": rng.lognormal(5, 1, 200)})
    train.to_csv(tmp_path / "t.csv", index=False)
    assert invoke(runner, "fit", tmp_path / "t.csv", "--model", tmp_path / "m", "--epochs", "1", "--quiet").exit_code == 0
    new = train.head(30).copy()
    for i in range(12):
        new.loc[: 29 - i, f"k{i}"] = "z"  # k0 most often, so the order is known
    new.to_csv(tmp_path / "n.csv", index=False)
    res = invoke(runner, "score", tmp_path / "n.csv", "--model", tmp_path / "m", "--out", tmp_path / "o.csv")
    assert res.exit_code == 0, res.output
    line = " ".join(res.stderr.replace("│", " ").split())
    assert "values unseen in training k0: 30 (z x30), k1: 29 (z x29)," in line and "k7: 23 (z x23) and 4 more columns" in line
    assert "k8" not in line.split("values unseen in training")[1].split("written to")[0]
    res = invoke(runner, "score", tmp_path / "n.csv", "--model", tmp_path / "m", "--out", tmp_path / "o2.csv", "--json")
    assert len(json.loads(res.stdout)["unseen_categories"]) == 12
