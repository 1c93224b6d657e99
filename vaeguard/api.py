"""VAEGuard: a scikit-learn style detector (fit / score_samples / decision_function / predict / save / load).

Follows IsolationForest's contract: `score_samples` is higher for normal rows, `decision_function` is
negative for anomalies, `predict` gives -1 for anomalies and 1 for normal rows. `anomaly_score` is the
plain score the CLI writes (higher = more anomalous). Everything that turns a score into a flag lives in
the one fitted attribute `calibration_`. `contamination` has scikit-learn's meaning: the share of
anomalies expected in the training data; the threshold flags that share of the held-out rows.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.exceptions import NotFittedError

from .detector import Detector, as_frame, resolve_device

__all__ = ["VAEGuard", "as_frame", "resolve_device"]


# Detector first, so its own fit_predict (fit, then flag with the calibrated threshold) wins over the mixin's.
class VAEGuard(Detector, OutlierMixin, BaseEstimator):
    __doc__ = __doc__
    _not_fitted = NotFittedError
