"""Detection quality on real network connections (NSL-KDD); skipped where ../shared is absent."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from .conftest import SHARED, invoke

NSL = SHARED / "data" / "nslkdd" / "train_20pct.csv"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not NSL.exists(), reason="needs ../shared/data/nslkdd (benchmark data)")]


def test_fit_on_normal_rows_separates_attacks(runner, tmp_path):
    df = pd.read_csv(NSL)
    normal = tmp_path / "normal.csv"
    df[df["label"] == "normal"].drop(columns=["label", "difficulty"]).to_csv(normal, index=False)
    model, out = tmp_path / "m", tmp_path / "scored.csv"
    assert invoke(runner, "fit", normal, "--model", model, "-q").exit_code == 0
    res = invoke(runner, "score", NSL, "--model", model, "--out", out, "-q")
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out)
    assert len(scored) == len(df)
    auc = roc_auc_score(scored["label"] != "normal", scored["anomaly_score"])
    assert auc > 0.95, auc


def test_day_two_commands_on_nslkdd(runner, tmp_path):
    """evaluate, info, calibrate, generate, explain and export on the real connections, through --json."""
    import json

    df = pd.read_csv(NSL)
    normal = df[df["label"] == "normal"].drop(columns=["label", "difficulty"])
    train, fresh = tmp_path / "train.csv", tmp_path / "fresh.csv"
    normal.iloc[:8000].to_csv(train, index=False)
    normal.iloc[8000:].to_csv(fresh, index=False)
    labelled = tmp_path / "labelled.csv"
    df.sample(4000, random_state=0).to_csv(labelled, index=False)
    model = tmp_path / "m"
    assert invoke(runner, "fit", train, "--model", model, "-q", "--epochs", "20").exit_code == 0

    res = invoke(runner, "evaluate", labelled, "--model", model, "--label", "label", "--json", "--report", tmp_path / "report")
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["roc_auc"] > 0.9 and m["rows"] == 4000
    assert (tmp_path / "report" / "metrics.json").exists()

    info = json.loads(invoke(runner, "info", model, "--json").stdout)
    assert {c["name"] for c in info["columns"]} >= {"protocol_type", "service", "src_bytes"}

    res = invoke(runner, "calibrate", fresh, "--model", model, "--fpr", "0.02", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(invoke(runner, "info", model, "--json").stdout)["calibration"]["target"] == 0.02

    synth = tmp_path / "synthetic.csv"
    assert invoke(runner, "generate", "--model", model, "-n", "500", "--out", synth, "-q").exit_code == 0
    gen = pd.read_csv(synth)
    assert len(gen) == 500 and set(gen["protocol_type"]) <= set(df["protocol_type"])

    attack_row = int((pd.read_csv(labelled)["label"] != "normal").to_numpy().argmax())
    res = invoke(runner, "explain", labelled, "--model", model, "--row", str(attack_row), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["row"] == attack_row
