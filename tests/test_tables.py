"""Tables as files hold them: CSV lines of another shape, delimiters, quoted line breaks, several files or
Parquet parts as one table."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

from vaeguard import VAEGuard
from vaeguard.errors import InputError
from vaeguard.sources import open_source, read_table

from .conftest import ROOT, invoke, live_pipe, make_flows
from .logdata import FIELDS, conn_rows, nfdump_csv, zeek_json_text, zeek_text


def test_quoted_csv_lines_of_another_shape_are_counted_at_fit(tmp_path):
    # Exports that quote their text (and a quoted field that holds the delimiter or a line break): fit's
    # reader counts a short or cut line here too, where it had read it as a row of gaps.
    rng = np.random.default_rng(0)
    rows = [f'"tcp","{rng.choice(["http", "dns, udp"])}",{int(rng.integers(40, 1500))},{int(rng.integers(1, 9))}' for _ in range(3000)]
    rows[100] = '"udp","a note\nover two lines",60,1'  # a whole row: its line break is inside quotes
    rows[1500] = '"tcp","http",99'  # one field short
    path = tmp_path / "flows.csv"
    path.write_text('proto,service,bytes,pkts\n' + "\n".join(rows) + '\n"tcp","ht')  # and a cut last line
    src = open_source(str(path))
    df, _ = read_table(src, chunk_size=500)
    assert len(df) == 2999 and src.bad_lines == 2, (len(df), src.bad_lines)
    assert df["pkts"].notna().all() and "over two lines" in df["service"].iloc[100]
    assert (df["service"] == "dns, udp").sum() > 1000
    text = open_source(str(path))
    scored_rows = pd.concat(list(text.chunks(500, text=True)))  # score's reader: the same rows
    assert len(scored_rows) == 2999 and text.bad_lines == 2 and scored_rows["service"].iloc[100] == df["service"].iloc[100]
    with pytest.raises(InputError, match="--strict"):
        read_table(open_source(str(path), strict=True))


def test_quoted_line_break_across_a_read_block_is_one_row(tmp_path):
    # fit reads 1 MiB at a time and checks whole lines; a block must not end inside a quoted field, or
    # the next one starts mid-field and its first line looks one field short.
    header = b"n,note,m\n"
    for k in range(50, 400):  # rows of 2k + 8 bytes, sized so the first MiB ends inside a quoted field
        offset = (2**20 - len(header)) % (2 * k + 8)
        if 3 + k + 1 < offset < 3 + 2 * k + 1:
            break
    row = b'1,"' + b"a" * k + b"\n" + b"b" * k + b'",2\n'
    path = tmp_path / "notes.csv"
    path.write_bytes(header + row * (3 * 2**20 // len(row)))
    src = open_source(str(path))
    df, _ = read_table(src)
    assert src.bad_lines == 0 and len(df) == 3 * 2**20 // len(row) and df["m"].eq(2).all()


def test_csv_lines_of_another_shape_are_counted_or_stop_with_strict(tmp_path, runner):
    # nfdump's closing summary and a cut last line: not rows. pandas (fit) padded them with gaps, which
    # turned the always-zero out-bytes into "sometimes missing" categories; pyarrow (score) stopped.
    path = tmp_path / "flows.csv"
    path.write_text(nfdump_csv() + "2019-03-01 11:00:00,2019-03-01 11:0")
    src = open_source(str(path))
    df, _ = read_table(src)
    assert len(df) == 300 and src.bad_lines == 4 and src.bad_example == "Summary"
    assert df["obyt"].notna().all() and df["sp"].map(type).eq(int).all()
    text = pd.concat(open_source(str(path)).chunks(64, text=True))
    assert len(text) == 300
    model, out = tmp_path / "m", tmp_path / "o.csv"
    res = invoke(runner, "fit", path, "--model", model, "--epochs", "2")
    assert res.exit_code == 0, res.output
    assert "4 malformed lines skipped" in res.stderr and "'Summary'" in res.stderr
    # Not "sometimes missing": a count, as nfdump's header says (always zero here, as Zeek's missed_bytes often is).
    assert {c["name"]: c["role"] for c in json.loads((model / "manifest.json").read_text())["schema"]}["obyt"] == "numeric"
    res = invoke(runner, "score", path, "--model", model, "--out", out)
    assert res.exit_code == 0 and len(pd.read_csv(out)) == 300 and "4 malformed lines skipped" in res.stderr
    for cmd in (["score", path, "--model", model, "--out", tmp_path / "o2.csv"], ["fit", path, "--model", tmp_path / "m2"]):
        res = invoke(runner, *cmd, "--strict")
        assert res.exit_code == 2 and "'Summary'" in res.stderr and "--strict" in res.stderr
    assert not (tmp_path / "o2.csv").exists() and not (tmp_path / "m2").exists()


def test_concatenated_csv_files_repeat_their_header(tmp_path, runner):
    # `cat day1.csv day2.csv | vaeguard score -`: the second header is no row (it had made every number
    # column "some values are text" at fit, and one malformed row at score), whatever the byte-order mark.
    df = make_flows(300)
    parts = [df.iloc[:150].to_csv(index=False), df.iloc[150:].to_csv(index=False)]
    path = tmp_path / "both.csv"
    path.write_bytes(parts[0].encode() + "\ufeff".encode() + parts[1].encode())
    src = open_source(str(path))
    typed = read_table(src)[0]
    assert len(typed) == 300 and src.bad_lines == 0 and pd.api.types.is_numeric_dtype(typed["bytes"])
    assert len(pd.concat(open_source(str(path)).chunks(64, text=True))) == 300
    model = tmp_path / "m"
    assert invoke(runner, "fit", path, "--model", model, "--epochs", "2", "-q").exit_code == 0
    res = invoke(runner, "score", "-", "--model", model, "--out", tmp_path / "o.csv", input=path.read_bytes())
    assert res.exit_code == 0 and "text in numeric" not in res.stderr and len(pd.read_csv(tmp_path / "o.csv")) == 300


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_csv_delimiter_is_sniffed(tmp_path, sep):
    path = tmp_path / "t.txt"
    pd.DataFrame({"a": range(30), "b": ["x", "y", "z"] * 10, "c": np.linspace(0, 1, 30)}).to_csv(path, sep=sep, index=False)
    src = open_source(str(path))
    assert src.format == "csv" and src.delimiter == sep
    assert list(read_table(src)[0].columns) == ["a", "b", "c"]
    text = next(src.chunks(10, text=True))
    assert list(text.columns) == ["a", "b", "c"] and len(text) == 10


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_a_header_of_wrapped_cells_is_one_line_of_names(tmp_path, runner, sep):
    """A spreadsheet writes a header cell wrapped onto two lines as a quoted name holding a line break:
    its first line had been taken for a title above the header and the name's second half for a column,
    '(sent)"', in fit's table and score's output."""
    df = make_flows(200)[["bytes", "proto", "duration"]].rename(columns={"bytes": "Bytes\r\n(sent) ", "duration": "Duration\n(s)"})
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + df.to_csv(sep=sep, index=False).encode())  # with Excel's byte-order mark
    src = open_source(str(path))
    assert src.delimiter == sep and src.lines_above_header == 0
    table, _ = read_table(src)
    assert list(table.columns) == ["Bytes (sent)", "proto", "Duration (s)"] and len(table) == 200
    assert table["Bytes (sent)"].tolist() == df["Bytes\r\n(sent) "].tolist()
    assert list(next(open_source(str(path)).chunks(50, text=True)).columns) == list(table.columns)
    model, out = tmp_path / "m", tmp_path / "o.csv"
    assert invoke(runner, "fit", path, "--model", model, "--epochs", "1", "-q").exit_code == 0
    res = invoke(runner, "score", "-", "--model", model, "--out", out, "-q", input=path.read_bytes())
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(out).columns[:3]) == ["Bytes (sent)", "proto", "Duration (s)"] and len(pd.read_csv(out)) == 200


def test_format_override_and_wrong_bytes(tmp_path, runner):
    path = tmp_path / "conn.dat"
    path.write_text(zeek_text(conn_rows(30)))
    assert open_source(str(path)).format == "zeek"
    res = invoke(runner, "fit", path, "--format", "parquet", "--model", tmp_path / "m")
    assert res.exit_code == 2 and "not a Parquet file" in res.stderr
    junk = tmp_path / "x.parquet"
    junk.write_bytes(bytes(range(256)) * 4)
    res = invoke(runner, "fit", junk, "--model", tmp_path / "m")
    assert res.exit_code == 2 and "not UTF-8 text nor a Parquet file" in res.stderr and "--format csv" not in res.stderr


def test_a_field_of_spaces_is_blank_to_fit_and_to_score(tmp_path, runner):
    """UNSW-NB15's raw files write an unset count as ' ': a count with such gaps stays a count (it became
    categories), a word column's ' ' is a missing value, and --strict finds no text in the numbers."""
    rng = np.random.default_rng(3)
    n = 1500
    frame = pd.DataFrame({"sbytes": rng.integers(40, 5000, n), "ct_ftp_cmd": rng.integers(0, 3, n).astype(object),
                          "service": rng.choice(["http", "dns", "ftp"], n).astype(object)})
    frame.loc[rng.random(n) < 0.6, "ct_ftp_cmd"] = " "
    frame.loc[rng.random(n) < 0.2, "service"] = "  "
    path, model, out = tmp_path / "flows.csv", tmp_path / "m", tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    assert invoke(runner, "fit", path, "--model", model, "--epochs", "2", "-q").exit_code == 0
    roles = {c["name"]: c["role"] for c in json.loads((model / "manifest.json").read_text())["schema"]}
    assert roles["ct_ftp_cmd"] == "numeric" and roles["service"] == "categorical"
    res = invoke(runner, "score", path, "--model", model, "--out", out, "--json", "--strict")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert not summary["malformed"] and not summary["unseen_categories"], summary
    vocab = json.dumps(json.loads((model / "manifest.json").read_text())["preprocessing"])
    assert '" "' not in vocab and '"  "' not in vocab


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_parts_with_their_columns_in_another_order_read_by_name(tmp_path, runner, trained_model, fmt):
    """Parts written with their columns in another order (Parquet from another writer, a CSV export whose
    columns were rearranged or written with another delimiter) read in the first part's order: the same
    table, the same fit, the same scores. A part with other columns is named with what it lacks. In a CSV
    part, a line that is not a row is counted, and --strict names its file."""
    from .test_errors import assert_clean_error

    new_rows = ROOT / "sample_data" / "flows_new.csv"
    rows = pd.read_csv(new_rows)
    a, b, c = (tmp_path / f"{name}.{fmt}" for name in "abc")
    if fmt == "parquet":
        rows.iloc[:600].to_parquet(a, index=False)
        rows.iloc[600:, ::-1].to_parquet(b, index=False)
        rows.iloc[600:].drop(columns=["service"]).to_parquet(c, index=False)
    else:
        rows.iloc[:600].to_csv(a, index=False)
        rows.iloc[600:, ::-1].to_csv(b, index=False, sep=";")
        rows.iloc[600:].drop(columns=["service"]).to_csv(c, index=False)
    df, _ = read_table(open_source([str(a), str(b)]))
    pd.testing.assert_frame_equal(df, rows, check_dtype=False)
    whole, parts = tmp_path / "whole.csv", tmp_path / "parts.csv"
    assert invoke(runner, "score", new_rows, "--model", trained_model, "--out", whole, "-q").exit_code == 0
    assert invoke(runner, "score", a, b, "--model", trained_model, "--out", parts, "-q").exit_code == 0
    got, want = pd.read_csv(parts), pd.read_csv(whole)
    assert list(got.columns) == list(want.columns) and (got["is_anomaly"] == want["is_anomaly"]).all()
    np.testing.assert_allclose(got["anomaly_score"], want["anomaly_score"], rtol=1e-5)
    if fmt == "parquet":  # a Parquet day without a column is the same table (test_a_folder_of_parquet_days_...)
        res = invoke(runner, "score", a, c, "--model", trained_model, "--out", parts)
        assert res.exit_code == 0 and "'c.parquet' has no column 'service'" in " ".join(res.output.split()), res.output
        assert pd.read_csv(parts)["service"].isna().sum() == len(rows) - 600
        return
    assert_clean_error(invoke(runner, "score", a, c, "--model", trained_model), "'", "does not have the columns of", "lacks 'service'")
    for folder, given in ((tmp_path / "m_whole", [new_rows]), (tmp_path / "m_parts", [a, b])):
        assert invoke(runner, "fit", *given, "--model", folder, "--epochs", "1", "-q").exit_code == 0
    assert VAEGuard.load(tmp_path / "m_parts").calibration_.threshold == VAEGuard.load(tmp_path / "m_whole").calibration_.threshold
    with open(b, "a") as f:
        f.write("1;2;3\n")
    res = invoke(runner, "score", a, b, "--model", trained_model, "--out", parts, "--json")
    assert res.exit_code == 0 and "1 malformed line skipped" in res.stdout
    assert_clean_error(invoke(runner, "score", a, b, "--model", trained_model, "--out", parts, "--strict"), "'", "b.csv", "not a row")


def test_several_tables_must_be_one_kind(tmp_path, runner, trained_model):
    from .test_errors import assert_clean_error

    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.log"
    make_flows(40).to_csv(a, index=False)
    make_flows(40).drop(columns=["rate"]).to_csv(b, index=False)
    c.write_text(zeek_text(conn_rows(10)))
    a2 = tmp_path / "a2.csv"
    make_flows(30, seed=1).to_csv(a2, index=False)
    df, _ = read_table(open_source([str(a), str(a2)]))  # the second header is no row: the counts stay numbers
    assert len(df) == 70 and df["bytes"].dtype.kind == "i"
    assert invoke(runner, "fit", a, a2, "--model", tmp_path / "m", "--epochs", "1", "-q").exit_code == 0
    res = invoke(runner, "score", a, a2, "--model", tmp_path / "m", "--out", tmp_path / "o.csv")
    assert res.exit_code == 0 and len(pd.read_csv(tmp_path / "o.csv")) == 70
    assert_clean_error(invoke(runner, "score", a, b, "--model", trained_model), "'", "does not have the columns of", "a.csv")
    assert_clean_error(invoke(runner, "score", a, c, "--model", trained_model), "is a Zeek log and", "is a CSV table", "one format")
    assert_clean_error(invoke(runner, "score", a, "-", "--model", trained_model), "stdin")
    assert_clean_error(invoke(runner, "score", str(tmp_path / "nope*.csv"), "--model", trained_model), "no file matches")
    (tmp_path / "empty").mkdir()
    assert_clean_error(invoke(runner, "fit", tmp_path / "empty", "--model", tmp_path / "m2"), "folder with no files")
    # `vaeguard score . --model m` where the model lives among the tables: its folder is no table.
    logs = tmp_path / "logs"
    logs.mkdir()
    for f in (a, a2):
        (logs / f.name).write_bytes(f.read_bytes())
    assert invoke(runner, "fit", logs, "--model", logs / "m", "--epochs", "1", "-q").exit_code == 0
    res = invoke(runner, "score", logs, "--model", logs / "m", "--out", tmp_path / "o2.csv", "-q")
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "o2.csv")) == 70
    assert_clean_error(invoke(runner, "score", logs / "m", "--model", logs / "m"), "is a vaeguard model folder, not a table", "--model")


def test_a_folder_of_parquet_parts_is_one_table(tmp_path, runner, trained_model):
    """Spark and Dask write a table as a folder of part files beside a _SUCCESS marker."""
    parts = tmp_path / "flows.parquet"
    parts.mkdir()
    new = pd.read_csv(ROOT / "sample_data" / "flows_new.csv")
    for i, start in enumerate(range(0, len(new), 400)):
        new.iloc[start:start + 400].to_parquet(parts / f"part-{i:05d}.parquet", index=False)
    (parts / "_SUCCESS").write_text("")
    out = tmp_path / "scored.csv"
    res = invoke(runner, "score", parts, "--model", trained_model, "--out", out)
    assert res.exit_code == 0, res.output
    whole = tmp_path / "whole.csv"
    assert invoke(runner, "score", ROOT / "sample_data" / "flows_new.csv", "--model", trained_model, "--out", whole).exit_code == 0
    pd.testing.assert_series_equal(pd.read_csv(out)["anomaly_score"], pd.read_csv(whole)["anomaly_score"])


def test_the_tables_in_a_zip_or_tar_archive_are_read_straight_from_it(tmp_path, runner, trained_model):
    """Data sets come packed (CIC-IDS2017's MachineLearningCSV.zip, a sensor's logs tarred). A tar had been
    read as a CSV whose first column's name was the tar header (and its padding a malformed line); a ZIP
    stopped with "unzip it". An archive is now read as a folder is: its files one table, none unpacked."""
    import gzip
    import io
    import tarfile
    import zipfile

    new = pd.read_csv(ROOT / "sample_data" / "flows_new.csv")
    parts = [new.iloc[start:start + 400].to_csv(index=False).encode() for start in range(0, len(new), 400)]
    whole = tmp_path / "whole.csv"
    assert invoke(runner, "score", ROOT / "sample_data" / "flows_new.csv", "--model", trained_model, "--out", whole, "-q").exit_code == 0
    expected = pd.read_csv(whole)["anomaly_score"]
    with zipfile.ZipFile(tmp_path / "flows.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for i, part in enumerate(parts):
            z.writestr(f"flows/part-{i}.csv", part)
        z.writestr("__MACOSX/flows/._part-0.csv", b"\x00\x05\x16\x07 resource fork")  # left out, as a hidden file is
    for mode, name in (("w", "flows.tar"), ("w:gz", "flows.tar.gz"), ("w:xz", "flows.tar.xz")):
        with tarfile.open(tmp_path / name, mode) as t:
            for i, part in enumerate(parts):
                # The second part gzipped inside the tar, as rotated logs are.
                data, member = (gzip.compress(part), f"part-{i}.csv.gz") if i == 1 else (part, f"part-{i}.csv")
                info = tarfile.TarInfo(member)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    for name, how in (("flows.zip", "from a ZIP archive"), ("flows.tar", "from a tar archive"), ("flows.tar.gz", "from a tar archive"),
                      ("flows.tar.xz", "from a tar archive")):
        out = tmp_path / f"{name}.scored.csv"
        res = invoke(runner, "score", tmp_path / name, "--model", trained_model, "--out", out, "--json")
        assert res.exit_code in (0, 1), res.output
        assert how in json.loads(res.stdout)["read_as"] and "3 files" in json.loads(res.stdout)["read_as"], res.stdout
        pd.testing.assert_series_equal(pd.read_csv(out)["anomaly_score"], expected, check_exact=False, rtol=1e-12)
    # fit reads one the same way (twice over: the roles, then the rows).
    res = invoke(runner, "fit", tmp_path / "flows.tar.gz", "--model", tmp_path / "m", "--epochs", "2", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["rows_read"] == len(new), res.output
    # An archive in a folder is read as its files.
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.zip").write_bytes((tmp_path / "flows.zip").read_bytes())
    res = invoke(runner, "score", folder, "--model", trained_model, "--out", tmp_path / "f.csv", "-q")
    assert res.exit_code in (0, 1) and len(pd.read_csv(tmp_path / "f.csv")) == len(new), res.output


def test_what_is_not_read_from_an_archive_is_said_in_one_line(tmp_path, runner, trained_model):
    import tarfile
    import zipfile

    from .test_errors import assert_clean_error

    with tarfile.open(tmp_path / "flows.tar", "w") as t:
        t.add(ROOT / "sample_data" / "flows_new.csv", "flows_new.csv")
    res = runner.invoke(__import__("vaeguard.cli", fromlist=["app"]).app, ["score", "-", "--model", str(trained_model), "--out", str(tmp_path / "o.csv")],
                        input=(tmp_path / "flows.tar").read_bytes())
    assert res.exit_code == 2 and "'stdin' is a tar archive: give the archive's path" in res.stderr, res.output
    # Parquet inside an archive is read from a copy (its reader seeks); a cut one is named by its place in the archive.
    pd.read_csv(ROOT / "sample_data" / "flows_new.csv").to_parquet(tmp_path / "t.parquet", index=False)
    with zipfile.ZipFile(tmp_path / "pq.zip", "w") as z:
        z.write(tmp_path / "t.parquet", "t.parquet")
    res = invoke(runner, "score", tmp_path / "pq.zip", "--model", trained_model, "--out", tmp_path / "pq.csv", "-q")
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "pq.csv")) == len(pd.read_csv(ROOT / "sample_data" / "flows_new.csv"))
    res = runner.invoke(__import__("vaeguard.cli", fromlist=["app"]).app, ["score", "-", "--model", str(trained_model), "--out", str(tmp_path / "in.csv"), "--json"],
                        input=(tmp_path / "t.parquet").read_bytes())
    assert res.exit_code == 0 and "Parquet" in json.loads(res.stdout)["read_as"], res.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "in.csv"), pd.read_csv(tmp_path / "pq.csv"))
    res = runner.invoke(__import__("vaeguard.cli", fromlist=["app"]).app, ["score", "-", "--model", str(trained_model), "--out", str(tmp_path / "in.csv")],
                        input=(tmp_path / "t.parquet").read_bytes()[:300])
    assert res.exit_code == 2 and "cannot read 'stdin' as Parquet" in res.stderr, res.output
    with zipfile.ZipFile(tmp_path / "cut.zip", "w") as z:
        z.writestr("t.parquet", (tmp_path / "t.parquet").read_bytes()[:300])
    assert_clean_error(invoke(runner, "score", tmp_path / "cut.zip", "--model", trained_model, "--out", tmp_path / "o.csv"),
                       "cannot read '", "cut.zip/t.parquet' as Parquet")
    whole = (tmp_path / "flows.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(whole[:len(whole) // 3])
    assert_clean_error(invoke(runner, "score", tmp_path / "cut.tar", "--model", trained_model, "--out", tmp_path / "o.csv"),
                       "archive that cannot be read", "cut short")
    assert_clean_error(invoke(runner, "score", tmp_path / "flows.tar", "--model", trained_model, "--out", tmp_path / "flows.tar", "--out-format", "csv"),
                       "is the table being scored")
    assert not (tmp_path / "o.csv").exists()


def test_a_header_that_names_a_column_twice_reads_as_pandas_names_them(tmp_path, runner):
    """Every CIC-IDS2017 CSV names ' Fwd Header Length' twice (CICFlowMeter writes it again as its 56th
    column); fit stopped with "duplicate column names: rename them", so the best-known flow data set could
    not be read as it comes. A later use of a name is read as pandas reads it ('x.1') and the summary says so,
    in a folder of such files, and gzipped, and below a line above the header."""
    flows = make_flows(400)
    header = ["id", " proto", " service", " Fwd Header Length", " packets", " Fwd Header Length", " rate"]
    body = flows.to_csv(index=False, header=False)
    text = ",".join(header) + "\n" + body
    (tmp_path / "cic.csv").write_text(text)
    res = invoke(runner, "fit", tmp_path / "cic.csv", "--model", tmp_path / "m", "--epochs", "2", "--json")
    assert res.exit_code == 0, res.output
    fitted = json.loads(res.stdout)
    assert "'Fwd Header Length' named again in the header: read as 'Fwd Header Length.1'" in fitted["read_as"]
    names = [c["name"] for c in fitted["columns"]]
    assert names[3] == "Fwd Header Length" and names[5] == "Fwd Header Length.1"  # read without the padding
    read = read_table(open_source(str(tmp_path / "cic.csv")))[0]
    np.testing.assert_array_equal(read["Fwd Header Length.1"].astype(float), flows["duration"].astype(float).fillna(np.nan))
    folder = tmp_path / "days"
    folder.mkdir()
    lines = body.splitlines(keepends=True)
    (folder / "monday.csv").write_text(",".join(header) + "\n" + "".join(lines[:200]))
    import gzip

    with gzip.open(folder / "tuesday.csv.gz", "wt") as f:
        f.write("# exported by a tool\n" + ",".join(header) + "\n" + "".join(lines[200:]))
    scores = {}
    for name, path in (("file", tmp_path / "cic.csv"), ("folder", folder)):
        out = tmp_path / f"{name}.csv"
        res = invoke(runner, "score", path, "--model", tmp_path / "m", "--out", out, "-q")
        assert res.exit_code in (0, 1), res.output
        scores[name] = pd.read_csv(out)
    assert list(scores["file"].columns[:7]) == [n.strip() for n in header[:5]] + ["Fwd Header Length.1", "rate"]
    pd.testing.assert_series_equal(scores["file"]["anomaly_score"], scores["folder"]["anomaly_score"], check_exact=False, rtol=1e-12)
    # Where the repeat holds the first's values in every row (CICFlowMeter's copy), it is left out as a copy:
    # its evidence would count twice.
    copy = flows.assign(duration=flows["bytes"])
    (tmp_path / "copy.csv").write_text(",".join(header) + "\n" + copy.to_csv(index=False, header=False))
    res = invoke(runner, "fit", tmp_path / "copy.csv", "--model", tmp_path / "c", "--epochs", "1", "--json")
    second = {c["name"]: c for c in json.loads(res.stdout)["columns"]}["Fwd Header Length.1"]
    assert second["role"] == "ignored" and "a copy of 'Fwd Header Length'" in second["reason"], second


def test_parquet_parts_of_differing_number_types_keep_their_values(tmp_path, runner, trained_model):
    """Parts written on different days may type a column differently (int64, then double). A Parquet output
    had taken the first part's int64 and cut 1221.5 to 1221, without a word; it now takes the wider type.
    Types that do not widen into one (numbers in one part, text in the next) are a one-line error."""
    from .test_errors import assert_clean_error

    parts = tmp_path / "parts"
    parts.mkdir()
    new = pd.read_csv(ROOT / "sample_data" / "flows_new.csv")
    halves = new.iloc[:500].copy(), new.iloc[500:].assign(src_bytes=lambda d: d["src_bytes"] + 0.5)
    for i, half in enumerate(halves):
        half.to_parquet(parts / f"part-{i}.parquet", index=False)
    out = tmp_path / "scored.parquet"
    assert invoke(runner, "score", parts, "--model", trained_model, "--out", out, "-q").exit_code == 0
    np.testing.assert_array_equal(pd.read_parquet(out)["src_bytes"].to_numpy(), pd.concat(halves)["src_bytes"].to_numpy())
    # The text outputs too (they cast a chunk to the first one's types: 1221.5 had been written 1221), and the
    # Dask engine, whose read_parquet took the first part's int64 and failed on the second's halves.
    for text in (tmp_path / "scored.csv", tmp_path / "scored.json"):
        assert invoke(runner, "score", parts, "--model", trained_model, "--out", text, "-q").exit_code == 0
        got = pd.read_csv(text) if text.suffix == ".csv" else pd.read_json(text, lines=True)
        np.testing.assert_array_equal(got["src_bytes"].to_numpy(), pd.concat(halves)["src_bytes"].to_numpy())
    if importlib.util.find_spec("distributed") is not None:
        res = invoke(runner, "score", parts, "--model", trained_model, "--engine", "dask", "--workers", "1", "--out", tmp_path / "dask-out", "-q")
        assert res.exit_code == 0, res.output
        got = pd.read_parquet(tmp_path / "dask-out").sort_values("flow_id")
        np.testing.assert_array_equal(got["src_bytes"].to_numpy(), pd.concat(halves)["src_bytes"].to_numpy())
    halves[1].astype({"duration": str}).to_parquet(parts / "part-1.parquet", index=False)
    assert_clean_error(invoke(runner, "score", parts, "--model", trained_model, "--out", out), "type a column differently", "duration")


@pytest.mark.parametrize("kind", ["csv", "zeek", "zeek-json", "csv-names", "zeek-mid-line", "csv-quoted-line-break", "csv-stray-quote",
                                  "csv-name-repeated"])
def test_a_pipe_written_live_gives_the_rows_before_a_pause_at_once(tmp_path, kind, monkeypatch):
    """`tail -n +1 -F conn.log | vaeguard score -`: the rows written before the writer pauses come out as a
    chunk of their own then, read as the whole file would be. The writer waits for that chunk before it
    writes the rest, so a reader that waited for a full block or a full chunk would get all 400 rows in one
    chunk only after the writer gave up waiting. A writer may also pause inside a line (a buffer flushed
    mid-line): the rows before it come out, and the line waits for its end; so does a CSV row whose quoted
    field holds a line break that the pause comes after. A quote that never closes (a stray one, 5" for
    inches) holds the rows back only until QUOTED_BYTES more have come."""
    from vaeguard.streams import LiveInput

    rows = conn_rows(400)
    flows = make_flows(400)
    if kind == "csv-quoted-line-break":
        flows.loc[149, "service"] = 'a "quoted"\nservice'
    if kind == "csv-stray-quote":
        flows.loc[10, "id"] = 'r10 5"'
        monkeypatch.setattr(LiveInput, "QUOTED_BYTES", 1000)
    text, header_lines, names = {
        "csv": (flows.to_csv(index=False), 1, None),
        "csv-quoted-line-break": (flows.to_csv(index=False), 1, None),
        "csv-stray-quote": (flows.to_csv(index=False).replace('"r10 5"""', 'r10 5"'), 1, None),  # unquoted, as it came
        "csv-names": (flows.to_csv(index=False, header=False), 0, list(flows.columns)),
        "csv-name-repeated": (flows.rename(columns={"packets": "bytes"}).to_csv(index=False), 1, None),
        "zeek": (zeek_text(rows), 8, None),
        "zeek-mid-line": (zeek_text(rows), 8, None),
        "zeek-json": (zeek_json_text(rows), 0, None),
    }[kind]
    lines = text.encode().splitlines(keepends=True)
    if kind == "zeek-mid-line":
        cut = header_lines + 150
        lines[cut : cut + 1] = [lines[cut][:20], lines[cut][20:]]
    whole = tmp_path / "whole"
    whole.write_bytes(text.encode())
    pause = header_lines + 150 + (kind == "zeek-mid-line")
    fifo, resume, writer = live_pipe(tmp_path, b"".join(lines[:pause]), b"".join(lines[pause:]))
    source = open_source(str(fifo), names=names)
    chunks = source.chunks(100_000, text=True)
    first = next(chunks)
    resume.set()
    rest = list(chunks)
    writer.join(30)
    before = 149 if kind == "csv-quoted-line-break" else 150  # the pause cuts row 150's quoted field
    assert resume.in_time and len(first) == before and [len(c) for c in rest] == [400 - before]
    expected = pd.concat(list(open_source(str(whole), names=names).chunks(100_000, text=True)), ignore_index=True)
    pd.testing.assert_frame_equal(pd.concat([first, *rest], ignore_index=True), expected)
    if kind == "csv-name-repeated":
        assert list(expected.columns).count("bytes") == 1 and "bytes.1" in expected.columns


def test_a_live_zeek_log_read_on_past_a_rotation_takes_the_new_logs_fields(tmp_path):
    """`tail -n +1 -F conn.log` across a rotation after a Zeek upgrade or a newly loaded script: the old
    log's #close, then a log whose #fields differ (here community_id added). Every segment after that is
    read with the new log's header, as `cat` of both files is; read with the first header, its rows' fields
    would land one column off (a uid read as an address)."""
    rows = conn_rows(400)
    cid = FIELDS.index("uid") + 1

    def upgraded(text: str) -> str:  # community_id after uid, in the header and in every row
        out = []
        for line in text.splitlines():
            parts = line.split("\t")
            if line.startswith(("#fields", "#types")) or not line.startswith("#"):
                value = "community_id" if line.startswith("#fields") else "string" if line.startswith("#types") else f"1:{parts[1][:8]}="
                parts.insert(cid + (1 if line.startswith("#") else 0), value)
            out.append("\t".join(parts))
        return "\n".join(out) + "\n"

    old = zeek_text(rows[:150], close=False)
    new = upgraded(zeek_text(rows[150:], close=False)).splitlines(keepends=True)
    head = [line for line in new if line.startswith("#")]
    body = new[len(head):]
    parts = ["#close\t2019-01-10-13-00-00\n" + "".join(head + body[:100]), "".join(body[100:])]
    whole = tmp_path / "whole"
    whole.write_text(old + "".join(parts))
    fifo, resume, writer = live_pipe(tmp_path, old.encode(), [p.encode() for p in parts])
    source = open_source(str(fifo))
    got = []
    for chunk in source.chunks(100_000, text=True):
        got.append(chunk)
        resume.set()
    writer.join(30)
    assert resume.in_time and [len(c) for c in got] == [150, 100, 150]
    expected = pd.concat(list(open_source(str(whole)).chunks(100_000, text=True)), ignore_index=True)
    assert list(expected.columns) == FIELDS and expected["uid"].str.startswith("C").all()
    pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), expected)
    assert source.extra_fields == {"community_id"}
