"""Thresholds and empirical p-values from the scores of held-out normal rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError, ParamError


# Calibration scores that describe the upper tail when the threshold lies beyond the highest of them:
# the top tenth, and never fewer than this many.
TAIL_MIN = 5


# Scores are float32 arithmetic summed: another machine's BLAS, a GPU or ONNX Runtime gets the same row's
# score a few units in the 7th digit apart (an H200 against numpy: 3.3e-7 at most, relative). Rows often
# tie (a log's repeated connections score alike, to the last bit), and the threshold is one of their
# scores, so a tie group at the threshold was flagged whole or not at all by that rounding alone: a third
# of a firewall log's rows. Scores this close, relative to their size, are the same score.
ROUNDING = 1e-5


def rounding(x):
    """How far apart two computations of one score may be (elementwise)."""
    return ROUNDING * np.maximum(1.0, np.abs(x))


def observable(n: int, target: float) -> bool:
    """Whether n calibration scores can show a rate of `target` among them: a new normal row exceeds the
    highest of n by chance 1 / (n + 1), so at least 1 / target - 1 of them are needed."""
    return (n + 1) * target >= 1.0 - 1e-12


# Calibration rows a threshold wants above it. With one or two (a held-out tenth of 2,000 rows at --fpr
# 0.01) the seed's choice of held-out rows set it: fitted on IoT-23 capture 34's 1,923 benign rows, seeds
# 0-9 flagged 8% to 65% of capture 44's attacks; with a thousand calibration rows, 46% to 50%
# (detector.calibration_folds).
STEADY_ROWS_ABOVE = 10


def steady(n: int, target: float) -> bool:
    """Whether n calibration scores hold STEADY_ROWS_ABOVE of them above a threshold at rate `target`."""
    return n * target >= STEADY_ROWS_ABOVE - 1e-9


def target_rate(fpr: float | None, contamination: float | None) -> tuple[str, float]:
    """(mode, rate) a calibration aims at: --contamination when given, else --fpr (0.01 by default)."""
    return ("contamination", contamination) if contamination is not None else ("fpr", 0.01 if fpr is None else fpr)


def check_rates(fpr: float | None, contamination: float | None) -> tuple[str, float]:
    """`target_rate`, after checking the rates a user gave: before any training or scoring, not after."""
    if fpr is not None and contamination is not None:
        raise ParamError("fpr", "give either {name} or {contamination}, not both", also=("contamination",))
    mode, target = target_rate(fpr, contamination)
    if not 0.0 < target < 1.0:
        raise ParamError(mode, f"{{name}} must be between 0 and 1 (exclusive); got {target}")
    if mode == "contamination" and target > 0.5:
        # scikit-learn's bound too: past half, the "anomalies" are the normal rows.
        raise ParamError(mode, f"{{name}} must be at most 0.5 (the share of the rows that are anomalies); got {target}")
    return mode, target


def threshold_for(scores: np.ndarray, target: float) -> float:
    """The score above which a normal row lands with probability about `target`, from sorted scores.

    The (1 - target) quantile, taken as an observed score. A new normal row exceeds the k-th smallest of
    n exchangeable calibration scores with probability (n + 1 - k) / (n + 1); with fewer than
    1 / target - 1 rows (21 validation rows at --fpr 0.01) even the highest is exceeded by 1 / (n + 1)
    of normal rows (4.5% for 21). There the threshold goes beyond the data: the scores' upper tail
    (negative log-likelihoods) is taken as exponential, fitted to their top tenth (peaks over a
    threshold with shape 0), P(S > u + t) = (m / (n + 1)) exp(-t / mean excess).
    """
    t = _threshold(scores, target)
    return float(t + rounding(t))  # a row scoring as the calibration row at the threshold did is not flagged, wherever it is scored


def _threshold(scores: np.ndarray, target: float) -> float:
    n = len(scores)
    if observable(n, target):
        return float(np.quantile(scores, 1.0 - target, method="higher"))
    m = min(n - 1, max(TAIL_MIN, int(math.ceil(0.1 * n))))
    if m < 2:
        return float(scores[-1])
    u = scores[n - m - 1]
    excess = float(np.mean(scores[n - m :] - u))
    return float(max(scores[-1], u + excess * math.log(m / ((n + 1) * target))))


@dataclass
class Calibration:
    """Everything that turns a score into a flag. Kept as one fitted attribute (`VAEGuard.calibration_`)."""

    mode: str  # "fpr" or "contamination"
    target: float  # the false-positive rate or contamination asked for
    threshold: float  # scores strictly above this are flagged
    scores: np.ndarray  # sorted calibration scores, for p-values
    # What a value training never held costs at least, in a column where such values are rarer than the
    # target rate: enough to flag a row on its own (the threshold less the lowest calibration score, plus 1).
    novelty_floor: float = 0.0
    # How many models' held-out rows the scores come from: 1, or each fold of a small table (see
    # detector.calibration_folds).
    folds: int = 1

    @classmethod
    def from_scores(cls, scores: np.ndarray, fpr: float | None = None, contamination: float | None = None, folds: int = 1) -> "Calibration":
        mode, target = check_rates(fpr, contamination)
        s = np.sort(np.asarray(scores, dtype=np.float64))
        s = s[np.isfinite(s)]
        if len(s) == 0:
            raise ConfigError("no finite calibration scores: the validation rows could not be scored")
        threshold = threshold_for(s, target)
        return cls(mode, float(target), threshold, s, float(threshold - s[0] + 1.0), int(folds))

    @property
    def extrapolated(self) -> bool:
        """Too few calibration rows to observe the target rate among them: the threshold lies beyond the
        highest score (see `threshold_for`), so the rate it flags is an estimate."""
        return not observable(len(self.scores), self.target)

    def small_sample_warning(self) -> str:
        """One line for the user when the threshold is extrapolated, else ''."""
        if not self.extrapolated:
            return ""
        need = math.ceil(1.0 / self.target - 1.0 - 1e-9)
        return (f"the threshold rests on {len(self.scores):,} held-out rows, fewer than the {need:,} it takes to see a "
                f"{self.target:g} rate among them; it is extrapolated from their highest scores, so new normal rows may "
                f"be flagged at a few times that rate: fit on more normal rows, or calibrate on more with `vaeguard calibrate`")

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """Share of calibration rows scoring at least as high (with the +1 correction, never exactly 0); a
        score within `rounding` of a calibration score is as high."""
        n = len(self.scores)
        scores = np.asarray(scores, dtype=np.float64)
        above = n - np.searchsorted(self.scores, scores - rounding(scores), side="left")
        return (above + 1.0) / (n + 1.0)

    def flags(self, scores: np.ndarray) -> np.ndarray:
        return (np.asarray(scores) > self.threshold).astype(np.int8)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "target": self.target, "threshold": self.threshold, "novelty_floor": self.novelty_floor, "folds": self.folds,
                "scores": self.scores.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        return cls(str(d["mode"]), float(d["target"]), float(d["threshold"]), np.asarray(d["scores"], dtype=np.float64),
                   float(d["novelty_floor"]), int(d.get("folds", 1)))


@dataclass
class LeftOutKind:
    """A kind of held-out row (one value of one column) that mostly scores above the threshold: a kind of
    normal row the fit may have left out as worst-fitting (--trim), or anomalies in the training data."""

    column: str
    value: str
    share: float  # of the held-out rows
    rows: int  # held-out rows of this kind
    above: int  # of them above the threshold
    above_all: int  # held-out rows above the threshold, of any kind


def left_out_warning(kinds: list[LeftOutKind], trim: float) -> str:
    """One line for the user on the strongest of `kinds` (left_out_kinds), naming with it the other columns
    whose value marks the same rows (rcode = 3 and rcode_name = NXDOMAIN); '' where there is none."""
    if not kinds:
        return ""
    first = kinds[0]
    named = ", ".join(f"{k.column} = {k.value}" for k in kinds if (k.rows, k.above) == (first.rows, first.above))
    return (f"{first.above:,} of the {first.above_all:,} held-out rows at or above the threshold are of one kind, {named} "
            f"({first.share:.1%} of the held-out rows), and most of that kind scores among the worst-fitting {trim:.0%}: fit "
            f"leaves each batch's worst-fitting {trim:.0%} out of training (--trim) so that anomalies in it are not learned, "
            f"and a kind of normal row rarer than that may be left out with them; if such rows are normal, refit with --trim 0")


def left_out_kinds(categorical, x_cat: np.ndarray, scores: np.ndarray, threshold: float, trim: float) -> list[LeftOutKind]:
    """The kinds of held-out rows (a categorical column's value, `categorical` the encode.CategoricalColumn
    list and `x_cat` the rows' codes) that make up no more of them than `trim`, whose median score lies in
    the top `trim` of all (the whole kind scores as the worst-fitting rows training leaves out), and that hold
    half the rows above `threshold` at least: the strongest first. A share of rows rarer than the trim and
    unlike the rest is left out of each batch's gradient with the anomalies, is never learned, and then sets
    the threshold."""
    from .encode import OTHER, UNKNOWN

    # At the threshold counts as above: a kind of identical rows (a firewall's CARP advertisements) scores one
    # value, the threshold is that score (and its rounding: threshold_for), and none of them lies above it.
    above = scores >= threshold - 2 * rounding(threshold)
    n, n_above = len(scores), int(above.sum())
    if trim <= 0 or n_above < 3 or not len(categorical):
        return []
    worst = float(np.quantile(scores, 1.0 - trim))
    found = []
    for j, col in enumerate(categorical):
        if col.derived or col.derive == "address":  # a history letter or a time part: its source says it better
            continue
        codes = x_cat[:, j].astype(np.int64)
        rows = np.bincount(codes, minlength=len(col.vocab))
        high = np.bincount(codes[above], minlength=len(col.vocab))
        for k, value in enumerate(col.vocab):
            if value in (UNKNOWN, OTHER) or rows[k] < 3 or rows[k] > trim * n or 2 * high[k] < n_above:
                continue
            if np.median(scores[codes == k]) >= worst:
                found.append(LeftOutKind(col.name, value, float(rows[k] / n), int(rows[k]), int(high[k]), n_above))
    return sorted(found, key=lambda kind: -kind.above)
