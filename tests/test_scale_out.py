"""Dask, Spark and ONNX give the same scores as `vaeguard score`, row for row (to float32 precision)."""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from vaeguard import VAEGuard, remote
from vaeguard.checkpoint import Bundle
from vaeguard.errors import CheckpointError, SchemaError

from .conftest import SAMPLE, assert_scored_alike, invoke


@pytest.fixture(scope="module")
def new_rows() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "flows_new.csv")


@pytest.fixture(scope="module")
def parquet_parts(tmp_path_factory, new_rows):
    """The sample's new rows as one Parquet file and as a folder of four parts."""
    root = tmp_path_factory.mktemp("lake")
    (root / "flows").mkdir()
    for i in range(4):
        new_rows.iloc[i * 250 : (i + 1) * 250].to_parquet(root / "flows" / f"part-{i}.parquet", index=False)
    new_rows.to_parquet(root / "all.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def local_scores(runner, trained_model, parquet_parts) -> pd.DataFrame:
    """What the ordinary streaming `vaeguard score` writes for the same rows."""
    out = parquet_parts / "local.parquet"
    res = invoke(runner, "score", parquet_parts / "all.parquet", "--model", trained_model, "--out", out, "--quiet", "--chunk-size", "300")
    assert res.exit_code == 0, res.output
    return pd.read_parquet(out)


def assert_same_scores(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.sort_values("flow_id").reset_index(drop=True)
    want = want.sort_values("flow_id").reset_index(drop=True)
    assert len(got) == len(want)
    assert list(got.columns) == list(want.columns)
    # A partition puts a row elsewhere in its scoring batch than the one file does, where a matrix product
    # may sum in another order: float32 precision. Flags and top features are the same.
    np.testing.assert_allclose(got["anomaly_score"].to_numpy(), want["anomaly_score"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(got["p_value"].to_numpy(), want["p_value"].to_numpy(), atol=0.01)
    np.testing.assert_array_equal(got["is_anomaly"].to_numpy(), want["is_anomaly"].to_numpy())
    assert got["top_features"].tolist() == want["top_features"].tolist()
    for col in want.columns[:-4]:  # the input columns pass through unchanged
        assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col


# ---- the model as bytes ---------------------------------------------------------------------------
def test_bundle_round_trip_scores_identically(trained_model, new_rows):
    guard = VAEGuard.load(trained_model)
    again = VAEGuard.from_bundle(guard.to_bundle())
    np.testing.assert_array_equal(guard.score_samples(new_rows), again.score_samples(new_rows))
    assert remote.as_bundle(trained_model).key == remote.as_bundle(trained_model).key


def test_damaged_bundle_is_refused(trained_model):
    bundle = remote.as_bundle(trained_model)
    flipped = bytearray(bundle.weights)
    flipped[len(flipped) // 2] ^= 0xFF
    with pytest.raises(CheckpointError, match="checksum"):
        VAEGuard.from_bundle(Bundle(bundle.manifest, bytes(flipped)))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        VAEGuard.from_bundle(Bundle(b"\x80(not json", bundle.weights))


def test_each_process_builds_a_model_once(trained_model):
    bundle = remote.as_bundle(trained_model)
    remote._cache.clear()
    before = remote.builds
    first = remote.guard_for(bundle)
    for _ in range(5):
        assert remote.guard_for(bundle) is first
    assert remote.builds == before + 1


# ---- Dask -----------------------------------------------------------------------------------------
dask = pytest.importorskip("dask")


def test_dask_api_matches_score_frame(trained_model, new_rows):
    import dask.dataframe as dd

    import vaeguard.dask

    guard = VAEGuard.load(trained_model)
    ddf = dd.from_pandas(new_rows, npartitions=3)
    with dask.config.set(scheduler="sync"):
        got = vaeguard.dask.score(ddf, trained_model).compute()
    want = guard.score_frame(new_rows)
    np.testing.assert_allclose(got["anomaly_score"].to_numpy(), want["anomaly_score"].to_numpy(), rtol=1e-5)
    assert got["top_features"].tolist() == want["top_features"].tolist()
    # Declared output types match what the partitions return, so Dask never has to guess.
    assert dict(vaeguard.dask.score(ddf, guard).dtypes.tail(4)) == dict(got.dtypes.tail(4))


def test_large_partition_scores_in_chunks_with_the_same_scores(trained_model, new_rows):
    """A partition longer than a chunk is scored a chunk at a time; scores and order are unchanged."""
    bundle = remote.as_bundle(trained_model)
    whole = remote.score_partition(new_rows, bundle, chunk_size=len(new_rows))
    chunked = remote.score_partition(new_rows, bundle, chunk_size=128)
    assert_scored_alike(chunked, whole)


def test_local_cluster_workers_keep_glibcs_trim_threshold():
    """Dask's nanny would start workers with MALLOC_TRIM_THRESHOLD_=65536 (a third of the run in the
    kernel); the local cluster's workers start without it, and keep one torch thread each."""
    pytest.importorskip("distributed")
    from distributed import Client

    from vaeguard.dask import local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
    (got,) = env.values()
    assert got == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}


def test_dask_api_names_missing_columns(trained_model, new_rows):
    import dask.dataframe as dd

    import vaeguard.dask

    with pytest.raises(SchemaError, match="src_bytes"):
        vaeguard.dask.score(dd.from_pandas(new_rows.drop(columns=["src_bytes"]), npartitions=2), trained_model)


def test_cli_dask_names_a_missing_column_before_starting_a_cluster(runner, trained_model, new_rows, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import vaeguard.dask

    def no_cluster(workers=None):
        raise AssertionError("a cluster was started for files the model cannot score")

    monkeypatch.setattr(vaeguard.dask, "local_cluster", no_cluster)
    new_rows.drop(columns=["src_bytes"]).to_parquet(tmp_path / "part.parquet")
    res = invoke(runner, "score", tmp_path / "part.parquet", "--model", trained_model, "--engine", "dask", "--out", tmp_path / "o")
    assert res.exit_code == 2, res.output
    assert "'src_bytes' is missing" in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_dask_local_cluster_matches_local_score(runner, trained_model, parquet_parts, local_scores, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "scored"
    res = invoke(runner, "score", parquet_parts / "flows", "--model", trained_model, "--engine", "dask", "--workers", "2", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["rows"] == 1000 and summary["partitions"] == 4 and summary["workers"] == 2
    assert summary["flagged"] == int(local_scores["is_anomaly"].sum())
    assert summary["flag_rate"] == summary["flagged"] / 1000 and 0 < summary["expected_flag_rate"] < 0.1 and "drift" in summary
    assert sorted(p.name for p in out.iterdir()) == [f"part.{i}.parquet" for i in range(4)]
    assert_same_scores(pd.read_parquet(out), local_scores)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folder left behind"

    # Run again over the same --out, with a glob and only the flagged rows: the old folder is replaced.
    res = invoke(
        runner, "score", str(parquet_parts / "flows" / "*.parquet"), "--model", trained_model, "--engine", "dask",
        "--workers", "1", "--out", out, "--only-anomalies", "--fail-on-anomaly", "--quiet",
    )
    assert res.exit_code == 1, res.output
    flagged = pd.read_parquet(out)
    assert len(flagged) == summary["flagged"] and (flagged["is_anomaly"] == 1).all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "scored.csv"], "folder"),
        (["--out", "-"], "--out scored/"),
        (["--out", "x", "--workers", "0"], "--workers"),
    ],
)
def test_cli_dask_bad_options(runner, trained_model, parquet_parts, tmp_path, args, message):
    res = invoke(runner, "score", parquet_parts / "flows", "--model", trained_model, "--engine", "dask", *args)
    assert res.exit_code == 2
    assert message in res.output


def test_cli_dask_refuses_csv_and_empty_globs(runner, trained_model, tmp_path):
    res = invoke(runner, "score", SAMPLE / "flows_new.csv", "--model", trained_model, "--engine", "dask", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "Parquet only" in res.output
    res = invoke(runner, "score", str(tmp_path / "nothing*.parquet"), "--model", trained_model, "--engine", "dask", "--out", tmp_path / "o")
    assert res.exit_code == 2 and "no Parquet files" in res.output
    res = invoke(runner, "score", SAMPLE / "flows_new.csv", "--model", trained_model, "--scheduler", "tcp://x:1", "--out", tmp_path / "o.csv")
    assert res.exit_code == 2 and "--engine dask" in res.output


# ---- Spark ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.skip("Spark needs Java")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # executors must run this interpreter, which has vaeguard
    session = (
        SparkSession.builder.master("local[2]").appName("vaeguard-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "128")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_spark_matches_local_score(spark, trained_model, parquet_parts, local_scores):
    import vaeguard.spark

    sdf = spark.read.parquet(str(parquet_parts / "flows"))
    scored = vaeguard.spark.score(sdf, trained_model)
    assert scored.columns[-4:] == ["anomaly_score", "p_value", "is_anomaly", "top_features"]
    assert_same_scores(scored.toPandas(), local_scores)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_spark_names_missing_columns(spark, trained_model, parquet_parts):
    import vaeguard.spark

    sdf = spark.read.parquet(str(parquet_parts / "flows")).drop("proto")
    with pytest.raises(SchemaError, match="proto"):
        vaeguard.spark.score(sdf, trained_model)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_spark_scores_columns_whose_names_hold_dots(spark, tmp_path, runner):
    """A Zeek log written to Parquet by pandas names its columns id.orig_h...: Spark took the dot for a struct's
    field and could not resolve them. A dns log's queries, measured by their shape, score as they do locally."""
    import vaeguard.spark

    from .logdata import dns_log

    text, _ = dns_log(600, seed=0, tunnel=0.05)
    (tmp_path / "dns.log").write_text(text)
    model = tmp_path / "m"
    assert invoke(runner, "fit", tmp_path / "dns.log", "--model", model, "--epochs", "5", "-q").exit_code == 0
    assert invoke(runner, "score", tmp_path / "dns.log", "--model", model, "--out", tmp_path / "dns.parquet", "-q").exit_code == 0
    local = pd.read_parquet(tmp_path / "dns.parquet")
    rows = local.drop(columns=["anomaly_score", "p_value", "is_anomaly", "top_features"])
    rows.to_parquet(tmp_path / "in.parquet")
    scored = vaeguard.spark.score(spark.read.parquet(str(tmp_path / "in.parquet")), model).toPandas()
    assert list(scored.columns[:3]) == ["ts", "uid", "id.orig_h"] and len(scored) == 600
    np.testing.assert_allclose(scored.sort_values("uid")["anomaly_score"], local.sort_values("uid")["anomaly_score"], rtol=1e-6)
    # Text written as binary (Hive's and Impala's way), which Spark reads as bytes: scored as the text.
    import pyarrow as pa
    import pyarrow.parquet as papq

    table = pa.Table.from_pandas(rows, preserve_index=False)
    for name in ("proto", "query", "uid"):
        table = table.set_column(table.schema.get_field_index(name), name, table.column(name).cast(pa.binary()))
    papq.write_table(table, tmp_path / "binary.parquet")
    scored = vaeguard.spark.score(spark.read.parquet(str(tmp_path / "binary.parquet")), model).toPandas()
    np.testing.assert_allclose(scored.sort_values("uid")["anomaly_score"], local.sort_values("uid")["anomaly_score"], rtol=1e-6)
    # The same rows as Zeek's JSON, read by spark.read.json: id.orig_h ... id.resp_p nested in a struct `id`.
    records = rows.assign(ts=rows["ts"].astype(float))
    nested = [{**{k: v for k, v in r.items() if not k.startswith("id.")}, "id": {k[3:]: v for k, v in r.items() if k.startswith("id.")}}
              for r in json.loads(records.to_json(orient="records"))]
    (tmp_path / "dns.json").write_text("\n".join(json.dumps(r) for r in nested) + "\n")
    scored = vaeguard.spark.score(spark.read.json(str(tmp_path / "dns.json")), model).toPandas()
    assert {"id.orig_h", "id.resp_p"} <= set(scored.columns) and "id" not in scored.columns
    np.testing.assert_allclose(scored.sort_values("uid")["anomaly_score"], local.sort_values("uid")["anomaly_score"], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_spark_reads_a_list_of_records_as_vaeguard_does(spark, tmp_path, runner):
    """Suricata 8's dns events as spark.read.json gives them: dns.queries and dns.answers are arrays of structs;
    each scores as the eve.json reader reads it (its member count, its first record's fields beside it)."""
    import vaeguard.spark

    from .logdata import dns_log, eve_dns_text

    text, _ = dns_log(400, seed=0, tunnel=0.05)
    (tmp_path / "eve.json").write_text(eve_dns_text(text, flows=False, version=3))
    model = tmp_path / "m"
    assert invoke(runner, "fit", tmp_path / "eve.json", "--events", "dns", "--model", model, "--epochs", "5", "-q").exit_code == 0
    assert invoke(runner, "score", tmp_path / "eve.json", "--model", model, "--out", tmp_path / "local.csv", "-q").exit_code == 0
    local = pd.read_csv(tmp_path / "local.csv")
    sdf = spark.read.json(str(tmp_path / "eve.json")).where("event_type = 'dns'")
    scored = vaeguard.spark.score(sdf, model).toPandas()
    assert {"dns.queries", "dns.queries.rrname", "dns.answers.ttl"} <= set(scored.columns) and len(scored) == 800
    key = ["flow_id", "dns.type"]
    np.testing.assert_allclose(scored.sort_values(key)["anomaly_score"], local.sort_values(key)["anomaly_score"], rtol=1e-5)


# ---- ONNX -----------------------------------------------------------------------------------------
def test_onnx_export_holds_a_flag_the_network_is_sure_of(runner, tmp_path):
    """A packet log's fields that one protocol alone carries (UDP's length, TCP's window): whether each is
    missing is certain from the protocol, the network's missing-flag logits pass 17, and ONNX's export of
    torch's fused cross-entropy took 0 * log(0) there: NaN scores, and export stopped with an internal error."""
    pytest.importorskip("onnxruntime")
    from .logdata import netfilter_log

    (tmp_path / "kern.log").write_text(netfilter_log(3000, seed=0)[0])
    assert invoke(runner, "fit", tmp_path / "kern.log", "--model", tmp_path / "m", "-q").exit_code == 0
    res = invoke(runner, "export", tmp_path / "m", "--onnx", tmp_path / "m.onnx", "--json")
    assert res.exit_code == 0, res.output
    checked = json.loads(res.stdout)
    assert checked["rows_checked"] > 0 and checked["max_rel_diff"] < 1e-4


def test_onnx_export_matches_torch(runner, trained_model, new_rows, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "model.onnx"
    res = invoke(runner, "export", trained_model, "--onnx", path, "--json")
    assert res.exit_code == 0, res.output
    checked = json.loads(res.stdout)
    assert checked["rows_checked"] > 0 and checked["max_rel_diff"] < 1e-4

    guard = VAEGuard.load(trained_model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    from vaeguard.scoring import fixed_terms

    def onnx_scores(rows):
        enc = guard.preprocessor_.transform(rows)
        feeds = {"x_num": enc.x_num, "observed": enc.observed, "x_cat": enc.x_cat, "fixed": fixed_terms(guard, enc).astype(np.float32)}
        return session.run(["anomaly_score"], {i.name: feeds[i.name] for i in session.get_inputs()})[0]

    got = onnx_scores(new_rows)
    want = guard.anomaly_score(new_rows)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    # A gap where training had none flags every row in the graph too, the lowest-scoring rows included.
    gaps = new_rows.assign(src_bytes=np.nan)
    np.testing.assert_allclose(onnx_scores(gaps), guard.anomaly_score(gaps), rtol=1e-4, atol=1e-3)
    assert (onnx_scores(gaps) > guard.calibration_.threshold).all()
    # A count far past the training range: its range term, as large as the novelty floor, flags the row
    # in both (the graph reads a term that large as a raised novelty).
    huge = new_rows.assign(src_bytes=new_rows["src_bytes"].max() * 10**6)
    np.testing.assert_allclose(onnx_scores(huge), guard.anomaly_score(huge), rtol=1e-4, atol=1e-3)
    assert (onnx_scores(huge) > guard.calibration_.threshold).all()
    # The same rows are flagged against the calibrated threshold stored in the file.
    meta = {p.key: p.value for p in __import__("onnx").load(str(path)).metadata_props}
    assert ((got > float(meta["threshold"])) == (want > guard.calibration_.threshold)).mean() > 0.99
    assert json.loads(meta["contribution_columns"]) == guard.preprocessor_.column_names


def test_export_needs_a_target(runner, trained_model, tmp_path):
    res = invoke(runner, "export", trained_model)
    assert res.exit_code == 2 and "--onnx" in res.output
    res = invoke(runner, "export", trained_model, "--onnx", tmp_path / "no" / "such" / "m.onnx")
    assert res.exit_code == 2 and "does not exist" in res.output


@pytest.mark.slow
def test_cli_dask_unreachable_scheduler(runner, trained_model, parquet_parts, tmp_path):
    pytest.importorskip("distributed")
    res = invoke(runner, "score", parquet_parts / "flows", "--model", trained_model, "--engine", "dask",
                 "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "o", "-q")
    assert res.exit_code == 2, res.output
    assert "cannot reach the Dask scheduler" in res.output
    assert not (tmp_path / "o").exists()


def test_cli_dask_unwritable_output_folder_stops_before_a_cluster_and_names_it(runner, trained_model, new_rows, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import errno
    import tempfile

    import vaeguard.dask

    def no_cluster(workers=None):
        raise AssertionError("a cluster was started for an output that cannot be written")

    def denied(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/.o.x8k2.tmp")

    monkeypatch.setattr(vaeguard.dask, "local_cluster", no_cluster)
    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    new_rows.to_parquet(tmp_path / "part.parquet")
    res = invoke(runner, "score", tmp_path / "part.parquet", "--model", trained_model, "--engine", "dask", "--out", tmp_path / "o")
    assert res.exit_code == 2, res.output
    assert f"cannot use '{tmp_path / 'o'}': Permission denied" in res.stderr and ".tmp" not in res.stderr


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_spark_and_dask_read_a_field_no_record_set_as_unset(spark, tmp_path, runner):
    """spark.read.json of a day no record of which set a field (Suricata's app_proto on a day of NTP alone) has no
    such column, nor has Dask's frame of that day's Parquet: each scores it as unset, as `vaeguard score` reads the
    log, where both stopped with "column 'app_proto' is missing". A column the model always saw set is still named."""
    import dask
    import dask.dataframe as dd

    import vaeguard.dask
    import vaeguard.spark

    from .logdata import conn_rows, eve_text

    (tmp_path / "train.json").write_text(eve_text(conn_rows(400)))
    (tmp_path / "ntp.json").write_text(eve_text([r for r in conn_rows(300, seed=1) if r[7] is None]))
    model = tmp_path / "m"
    assert invoke(runner, "fit", tmp_path / "train.json", "--model", model, "--epochs", "2", "-q").exit_code == 0
    assert invoke(runner, "score", tmp_path / "ntp.json", "--model", model, "--out", tmp_path / "local.parquet", "-q").exit_code == 0
    local = pd.read_parquet(tmp_path / "local.parquet").sort_values("flow_id")
    sdf = spark.read.json(str(tmp_path / "ntp.json")).where("event_type = 'flow'")
    assert "app_proto" not in sdf.columns
    scored = vaeguard.spark.score(sdf, model).toPandas().sort_values("flow_id")
    assert "app_proto" not in scored.columns and len(scored) == len(local)
    np.testing.assert_allclose(scored["anomaly_score"], local["anomaly_score"], rtol=1e-5)
    with pytest.raises(SchemaError, match="proto"):
        vaeguard.spark.score(sdf.drop("proto"), model)
    # The JSON reader gives the scored output the field, unset: a pipeline's Parquet of the day has no such column.
    local.drop(columns=["anomaly_score", "p_value", "is_anomaly", "top_features", "app_proto"]).to_parquet(tmp_path / "ntp.parquet")
    ddf = dd.read_parquet(str(tmp_path / "ntp.parquet"))
    with dask.config.set(scheduler="sync"):
        got = vaeguard.dask.score(ddf, model).compute().sort_values("flow_id")
    assert "app_proto" not in got.columns
    np.testing.assert_allclose(got["anomaly_score"], local["anomaly_score"], rtol=1e-5)
