"""The Python API follows scikit-learn's detector contract (IsolationForest's signs and labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vaeguard import VAEGuard, score_frame

from .conftest import invoke, make_flows


@pytest.fixture(scope="module")
def fitted():
    return VAEGuard(epochs=5, seed=0).fit(make_flows(300))


def test_contract_signs(fitted):
    df = make_flows(50, seed=9)
    twin = fitted.anomaly_score(df.iloc[[0]])[0]
    df.loc[0, "bytes"] = 10**9  # an obvious outlier
    a = fitted.anomaly_score(df)
    np.testing.assert_allclose(fitted.score_samples(df), -a)
    np.testing.assert_allclose(fitted.decision_function(df), fitted.calibration_.threshold - a)
    assert a[0] > twin + 3.0 and a[0] > np.quantile(a, 0.9)
    # A protocol training never saw is rarer than --fpr here, so it flags the row on its own; a large
    # number alone costs only the log of its distance under the Cauchy likelihood.
    df.loc[0, "proto"] = "gre"
    pred = fitted.predict(df)
    assert set(pred) <= {-1, 1} and pred[0] == -1
    np.testing.assert_array_equal(pred == -1, fitted.decision_function(df) < 0)


def test_numpy_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    guard = VAEGuard(epochs=3).fit(X)
    s = guard.score_samples(np.vstack([X[:5], [[50, 50, 50, 50]]]))
    assert s.shape == (6,) and s[-1] < s[:5].min()
    assert guard.n_features_in_ == 4
    # pd.DataFrame(array) names its columns 0, 1, ...: fit had stopped with KeyError '0'.
    framed = VAEGuard(epochs=3).fit(pd.DataFrame(X))
    assert framed.predict(pd.DataFrame(X[:5])).shape == (5,)
    with pytest.raises(Exception, match="column '3' is missing"):
        framed.predict(pd.DataFrame(X[:5, :3]))


def test_sparse_and_arrow_input_keep_their_rows_and_names():
    """A scipy.sparse matrix had been "expected a 2-D table, got an array of shape ()"; a pyarrow Table had
    become an array of objects with its names lost (x0, x1)."""
    sparse = pytest.importorskip("scipy.sparse")
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    dense = VAEGuard(epochs=2).fit(X)
    np.testing.assert_array_equal(VAEGuard(epochs=2).fit(sparse.csr_matrix(X)).score_samples(sparse.csr_matrix(X[:9])), dense.score_samples(X[:9]))
    table = pa.table({"bytes": X[:, 0], "rate": X[:, 1], "proto": rng.choice(["tcp", "udp"], 300)})
    guard = VAEGuard(epochs=2).fit(table)
    assert list(guard.feature_names_in_) == ["bytes", "rate", "proto"]
    assert [s.role for s in guard.schema_] == ["numeric", "numeric", "categorical"]
    np.testing.assert_array_equal(guard.score_samples(table.slice(0, 9)), guard.score_samples(table.to_pandas().head(9)))
    # Names that share nothing with the model's: the error shows what the table has instead.
    with pytest.raises(Exception, match="the model was trained on: bytes, rate, proto; the table has: a, b"):
        guard.predict(pd.DataFrame({"a": [1.0], "b": [2.0]}))


def test_score_frame_is_pure_and_matches_api(fitted):
    df = make_flows(40, seed=3)
    before = df.copy()
    out = score_frame(fitted, df)
    pd.testing.assert_frame_equal(df, before)  # input untouched
    np.testing.assert_array_equal(out["anomaly_score"].to_numpy(), fitted.anomaly_score(df))
    # Row by row gives the same scores as the whole frame.
    single = np.concatenate([score_frame(fitted, df.iloc[[i]])["anomaly_score"].to_numpy() for i in range(5)])
    np.testing.assert_allclose(single, out["anomaly_score"].to_numpy()[:5], rtol=1e-6)


def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    again = VAEGuard.load(tmp_path / "m")
    df = make_flows(30, seed=4)
    np.testing.assert_array_equal(again.anomaly_score(df), fitted.anomaly_score(df))
    assert again.calibration_.threshold == fitted.calibration_.threshold
    assert len(again.history_.history) == len(fitted.history_.history)


def test_unfitted_and_parameter_errors_speak_python(runner, flows_csv, tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        VAEGuard().predict(make_flows(5))
    with pytest.raises(ValueError, match=r"^lr must be positive") as err:
        VAEGuard(lr=-1.0).fit(make_flows(50))
    assert "--" not in str(err.value)
    with pytest.raises(ValueError, match=r"^trim must be"):
        VAEGuard(trim=0.7).fit(make_flows(50))
    # The CLI names its flags for the same mistakes.
    res = invoke(runner, "fit", flows_csv, "--model", tmp_path / "m", "--lr", "-1")
    assert res.exit_code == 2 and "--lr must be positive" in res.stderr
    res = invoke(runner, "fit", flows_csv, "--model", tmp_path / "m", "--model-type", "gan")
    assert res.exit_code == 2 and "--model-type" in res.stderr


def test_strict_is_a_python_parameter_too():
    df = make_flows(200)
    dirty = make_flows(20, seed=3).astype({"bytes": object})
    dirty.loc[2, "bytes"] = "lots"
    guard = VAEGuard(epochs=2, latent_dim=2, hidden=(8,)).fit(df)
    assert np.isfinite(guard.predict(dirty)).all()  # scored as malformed, not an error
    strict = VAEGuard(epochs=2, latent_dim=2, hidden=(8,), strict=True).fit(df)
    with pytest.raises(ValueError, match="'bytes' is numeric"):
        strict.predict(dirty)


def test_sklearn_estimator_protocol():
    from sklearn.base import clone, is_outlier_detector

    guard = VAEGuard(latent_dim=3, epochs=2)
    assert is_outlier_detector(guard)
    assert clone(guard).get_params() == guard.get_params()
    guard.set_params(beta=0.5)
    assert guard.beta == 0.5


@pytest.mark.parametrize("check", ["check_fit2d_predict1d", "check_estimators_dtypes",
                                   "check_fit_score_takes_y", "check_dont_overwrite_parameters", "check_outlier_contamination"])
def test_sklearn_estimator_checks(check):
    """The scikit-learn estimator checks that apply. (check_outliers_fit_predict does not: vaeguard calibrates
    --contamination on its held-out rows, not on the rows it trained on.)"""
    from sklearn.utils import estimator_checks

    fn = getattr(estimator_checks, check, None)
    if fn is None:
        pytest.skip(f"{check} not in this scikit-learn")
    fn("VAEGuard", VAEGuard(epochs=2, latent_dim=2, hidden=(8,), contamination=0.1))


def test_rates_are_checked_before_any_training(monkeypatch, runner, flows_csv, tmp_path):
    """--fpr 2 had trained the whole model before the calibration refused the rate (minutes on a big
    table), and --contamination 0.6 (more anomalies than normal rows; scikit-learn refuses it) was taken."""
    from vaeguard import train as train_mod

    def no_training(*a, **k):
        raise AssertionError("trained before the parameters were checked")
    monkeypatch.setattr(train_mod, "train", no_training)
    for params, message in (({"fpr": 2.0}, r"^fpr must be between 0 and 1"), ({"contamination": 0.6}, r"^contamination must be at most 0.5"),
                            ({"fpr": 0.1, "contamination": 0.1}, "either fpr or contamination")):
        with pytest.raises(ValueError, match=message):
            VAEGuard(**params).fit(make_flows(50))
    res = invoke(runner, "fit", flows_csv, "--model", tmp_path / "m", "--contamination", "0.6")
    assert res.exit_code == 2 and "--contamination must be at most 0.5" in res.stderr
