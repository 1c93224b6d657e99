"""Detection quality on real network connections (NSL-KDD); skipped where ../shared is absent."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from .conftest import SHARED, invoke

NSL = SHARED / "data" / "nslkdd" / "train_20pct.csv"

pytestmark = pytest.mark.skipif(not NSL.exists(), reason="needs ../shared/data/nslkdd (benchmark data)")


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
