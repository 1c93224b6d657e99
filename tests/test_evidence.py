"""Evidence never makes a row look more normal: each kind of surprise raises a row's score above its unchanged twin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vaeguard import VAEGuard

from .conftest import make_flows


@pytest.fixture(scope="module")
def guard():
    df = make_flows(1200, seed=1).drop(columns=["id"])
    df["fragment"] = 0  # constant in training, as NSL-KDD's wrong_fragment is in every normal row
    df["packets"] = df["packets"].astype(float)  # never missing in training
    return VAEGuard(epochs=15, seed=0).fit(df)


@pytest.fixture
def twins():
    df = make_flows(60, seed=7).drop(columns=["id"])
    df["fragment"] = 0
    df["duration"] = df["duration"].fillna(0.5)
    return df


def raised(guard, before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    return guard.anomaly_score(after) - guard.anomaly_score(before)


def test_a_constant_column_is_kept_as_a_check(guard, twins):
    changed = twins.assign(fragment=3)
    delta = raised(guard, twins, changed)
    n = guard.n_train_rows_
    # At least as costly as a value never seen in a categorical column: -log(1 / (n + 2)); and, being
    # rarer than the 1% false-positive budget, enough to flag the row on its own.
    assert (delta >= math.log(n + 2) - 0.01).all()
    assert (guard.predict(changed) == -1).all()
    table = guard.explain(changed.iloc[[0]])[0]
    assert table.iloc[0]["column"] == "fragment" and table.iloc[0]["role"] == "constant"
    assert guard.score_frame(changed)["top_features"].str.startswith("fragment").all()


def test_missing_where_training_had_no_gaps_raises_the_score(guard, twins):
    gaps = twins.copy()
    gaps["packets"] = np.nan
    assert (raised(guard, twins, gaps) > 0).all()
    assert (guard.predict(gaps) == -1).all()  # a field always set in training and now empty is itself suspicious
    # A column that had gaps in training (duration, 5%) learned how likely a gap is: the gap has a cost.
    table = guard.explain(twins.assign(duration=np.nan).iloc[[0]])[0].set_index("column")
    assert table.loc["duration", "contribution"] > 0


def test_text_where_a_number_belongs_raises_the_score(guard, twins):
    dirty = twins.astype({"bytes": object})
    dirty["bytes"] = "n/a"
    assert (raised(guard, twins, dirty) > 0).all()


def test_an_unseen_category_in_a_small_vocabulary_is_improbable_on_its_own(guard, twins):
    fourth = twins.assign(proto="sctp")  # training had tcp and udp only
    delta = raised(guard, twins, fourth)
    col = next(c for c in guard.preprocessor_.categorical if c.name == "proto")
    assert col.unknown_cost == pytest.approx(-math.log(1 / (guard.n_train_rows_ + 2)))
    assert (delta > col.unknown_cost - 3.0).all()
    # Alone, it is enough to flag the typical row.
    typical = twins.iloc[[int(np.argmin(np.abs(guard.anomaly_score(twins) - np.median(guard.anomaly_score(twins)))))]]
    assert guard.predict(typical.assign(proto="sctp"))[0] == -1


def test_unseen_values_are_counted_per_column(guard, twins):
    from vaeguard.scoring import score_chunk

    odd = twins.assign(proto="sctp", fragment=1).astype({"bytes": object})
    odd.loc[odd.index[:4], "bytes"] = "?"
    odd.loc[odd.index[:5], "packets"] = np.nan
    _, report = score_chunk(guard, odd)
    assert report.unknown == {"proto": 60} and report.broken == {"fragment": 60}
    assert report.new_values == {"proto": {"sctp": 60}, "fragment": {"1": 60}}  # which values, for the summary
    assert report.malformed == {"bytes": 4} and report.new_missing == {"packets": 5}
    assert report.past_range == {}  # the twins' counts lie inside training's
    high = next(c.high for c in guard.preprocessor_.numeric if c.name == "bytes")
    _, report = score_chunk(guard, twins.assign(bytes=np.where(np.arange(len(twins)) < 7, high * 10, high)))
    assert report.past_range == {"bytes": 7} and report.evidence()["past the training range"] == {"bytes": 7}


def test_new_values_are_summed_over_chunks_and_kept_to_the_most_frequent():
    from vaeguard.encode import UNSEEN_VALUES_KEPT
    from vaeguard.scoring import ChunkReport

    total = ChunkReport()
    total.add(ChunkReport(new_values={"port": {"23": 5, "2323": 1}}))
    total.add(ChunkReport(new_values={"port": {"2323": 7, **{str(p): 2 for p in range(1000, 1040)}}, "state": {"S3": 1}}))
    assert list(total.new_values["port"].items())[:2] == [("2323", 8), ("23", 5)]
    assert len(total.new_values["port"]) == UNSEEN_VALUES_KEPT and total.new_values["state"] == {"S3": 1}


def test_a_new_gap_flags_its_row_also_where_the_rest_of_the_row_scores_below_every_calibration_row(guard):
    """The novelty floor lifts a new gap's cost by the threshold less the lowest calibration score,
    which flags a row whose other columns score at least as that row did. A gap also takes its column's
    own term out of the network's part, and the most typical rows then fall short of the threshold: they
    are raised to just past it, on the gap's column, so that the rule holds for every row."""
    from vaeguard.scoring import fixed_terms, network_scores, score_chunk

    rows = make_flows(1200, seed=1).drop(columns=["id"]).assign(fragment=0, packets=lambda d: d["packets"].astype(float))
    typical = rows.iloc[np.argsort(guard.anomaly_score(rows))[:40]]  # the lowest-scoring: least left beside the gap
    gaps = typical.assign(packets=np.nan)
    enc = guard.preprocessor_.transform(gaps)
    unlifted = network_scores(guard, enc)[0] + fixed_terms(guard, enc).sum(axis=1)
    threshold = guard.calibration_.threshold
    assert (unlifted <= threshold).any()  # the case this is about: the floor alone leaves these unflagged
    scored, report = score_chunk(guard, gaps)
    assert (scored["anomaly_score"] > threshold).all() and (scored["is_anomaly"] == 1).all()
    assert report.novel_flagged == report.flagged == len(gaps)
    assert scored["top_features"].str.startswith("packets").all()
    # Rows the floor already flags keep their scores.
    assert np.allclose(scored["anomaly_score"][unlifted > threshold], unlifted[unlifted > threshold])


def test_a_count_far_past_the_training_range_is_flagged_on_that_column(guard, twins):
    """A flow of ten times the largest training flow's bytes (an exfiltration's size): past the range, a
    log-scaled count costs the log of its ratio to the range's end (a Pareto tail of index 1), on top of the
    network's term, whose Cauchy on the log charges only the log of that log: the network alone flagged 25
    of these 60 rows."""
    from vaeguard.scoring import network_scores

    col = next(c for c in guard.preprocessor_.numeric if c.name == "bytes")
    assert col.log and col.range_tail
    huge = twins.assign(bytes=int(col.high) * 10)
    enc = guard.preprocessor_.transform(huge)
    j = guard.preprocessor_.column_names.index("bytes")
    np.testing.assert_allclose(enc.fixed[:, j], np.log1p(col.high * 10) - np.log1p(col.high), rtol=1e-9)
    assert (network_scores(guard, enc)[0] < guard.calibration_.threshold).any()  # the network alone leaves some
    assert (guard.predict(huge) == -1).all()
    assert guard.score_frame(huge)["top_features"].str.startswith("bytes").all()
    # Ten times farther costs log(10) more; at the range's end, nothing.
    farther = guard.preprocessor_.transform(twins.assign(bytes=int(col.high) * 100)).fixed[:, j]
    np.testing.assert_allclose(farther - enc.fixed[:, j], math.log(10), rtol=1e-6)
    assert not guard.preprocessor_.transform(twins.assign(bytes=col.high)).fixed[:, j].any()


def test_a_count_as_far_past_the_range_as_the_novelty_floor_is_counted_as_flagged_whatever_the_threshold(guard, twins):
    """Such a row is raised as an unseen value is (scoring._fixed_and_rare), and the summary's
    flagged_whatever_the_threshold counts it as one: the count had been recomputed without the floor."""
    from vaeguard.scoring import score_chunk

    col = next(c for c in guard.preprocessor_.numeric if c.name == "bytes")
    far = col.high * math.exp(guard.calibration_.novelty_floor + 1.0)
    _, report = score_chunk(guard, twins.assign(bytes=np.where(np.arange(len(twins)) < 9, far, col.high)))
    assert report.past_range == {"bytes": 9} and report.novel_flagged == 9 <= report.flagged
    _, report = score_chunk(guard, twins)
    assert report.novel_flagged == 0


def test_a_count_below_the_training_range_costs_too(guard, twins):
    """Fewer bytes than any training flow held: the log of the ratio again."""
    col = next(c for c in guard.preprocessor_.numeric if c.name == "bytes")
    assert col.low >= 1
    j = guard.preprocessor_.column_names.index("bytes")
    np.testing.assert_allclose(guard.preprocessor_.transform(twins.assign(bytes=0)).fixed[:, j], np.log1p(col.low), rtol=1e-9)
    assert (raised(guard, twins, twins.assign(bytes=0)) > 0).all()


def test_only_log_scaled_columns_are_charged_past_the_range(guard, twins):
    """A column left unscaled has the Cauchy on its value, which already charges the log of a deviation."""
    rate = next(c for c in guard.preprocessor_.numeric if c.name == "rate")
    assert not rate.log
    j = guard.preprocessor_.column_names.index("rate")
    assert not guard.preprocessor_.transform(twins.assign(rate=rate.high * 100)).fixed[:, j].any()


def test_training_rows_are_charged_nothing_for_the_range(guard):
    """The range ends are the training rows' own: their values never lie past them (the held-out ones may)."""
    from vaeguard.encode import Preprocessor

    rows = make_flows(1200, seed=1).drop(columns=["id"]).assign(fragment=0, packets=lambda d: d["packets"].astype(float))
    pre = Preprocessor.fit(rows, guard.schema_)
    assert not pre.transform(rows).fixed[:, : len(pre.numeric)].any()


def test_a_model_saved_before_the_range_term_charges_nothing_past_the_range(guard, twins, tmp_path):
    """A format 2 model (before the term) is still read, and scores as it did; the test of the whole folder
    rewrites a saved model's manifest as format 2 wrote it."""
    import json

    from vaeguard import VAEGuard
    from vaeguard.encode import Preprocessor

    d = guard.preprocessor_.to_dict()
    for c in d["numeric"]:
        del c["range_tail"]
    old = Preprocessor.from_dict(d)
    huge = twins.assign(bytes=next(c.high for c in guard.preprocessor_.numeric if c.name == "bytes") * 1000)
    j = old.column_names.index("bytes")
    assert not old.transform(huge).fixed[:, j].any() and guard.preprocessor_.transform(huge).fixed[:, j].all()
    guard.save(tmp_path / "m")
    m = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert m["format_version"] == 3
    m["format_version"] = 2
    for c in m["preprocessing"]["numeric"]:
        del c["range_tail"]
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(m))
    loaded = VAEGuard.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.anomaly_score(huge), guard.anomaly_score(huge) - guard.preprocessor_.transform(huge).fixed[:, j],
                               rtol=1e-6)


def test_calibrate_sets_the_threshold_without_the_rows_a_count_far_past_the_range_flags(guard):
    """Such a row is flagged whatever the threshold (scoring._fixed_and_rare), as a row with an unseen value
    is: recalibrate leaves it out of the rows the threshold is set on and counts it. Left in, a fifth of
    rows with a far count had set the threshold for every other row."""
    import copy

    rows = make_flows(400, seed=11).drop(columns=["id"])
    rows["fragment"] = 0
    col = next(c for c in guard.preprocessor_.numeric if c.name == "bytes")
    far = np.arange(len(rows)) % 5 == 0
    # Far enough past the range to pass whatever floor the new calibration brings.
    farther = rows.assign(bytes=np.where(far, col.high * math.exp(guard.calibration_.novelty_floor + 40.0), rows["bytes"]))
    clean, _, _ = copy.deepcopy(guard).recalibrate(rows[~far])
    moved = copy.deepcopy(guard)
    new, flagged, per_column = moved.recalibrate(farther)
    assert flagged == int(far.sum()) and per_column == {"bytes": int(far.sum())}
    assert len(new.scores) == int((~far).sum()) and new.threshold == pytest.approx(clean.threshold)
    assert moved.score_frame(farther)["is_anomaly"][far].all()
    # The old way (the far rows among the threshold's rows) would have set it on them too.
    assert np.quantile(moved.anomaly_score(farther), 0.99) > 2 * new.threshold
