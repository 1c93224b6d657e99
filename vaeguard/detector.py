"""Detector: the fitted model (schema, preprocessor, network, calibration) and the estimator verbs.

`vaeguard.api.VAEGuard` adds scikit-learn's base classes on top; the CLI and the workers use this class
directly because importing scikit-learn costs 0.75 s, a quarter of a small `vaeguard score` run.

Follows IsolationForest's contract: `score_samples` is higher for normal rows, `decision_function` is
negative for anomalies, `predict` gives -1 for anomalies and 1 for normal rows. `anomaly_score` is the
plain score the CLI writes (higher = more anomalous). Everything that turns a score into a flag lives in
the one fitted attribute `calibration_`. Persistence is in manifest.py, scoring in scoring.py,
explanations in explain.py and synthetic rows in generate.py.
"""

from __future__ import annotations

import datetime as _dt
import gc
import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from .calibrate import STEADY_ROWS_ABOVE, Calibration, check_rates, left_out_kinds, steady, target_rate
from .defaults import DEFAULTS
from .encode import Preprocessor
from .errors import InputError, NotFittedError, ParamError
from .forward import VARIANTS
from .hosts import baseline_counts
from .parallel import ForkedMap, fork_workers, release_freed_memory, torch_threads, worker_count
from .schema import host_columns, infer_schema

if TYPE_CHECKING:
    from .history import EpochRecord

SCORE_KINDS = ("elbo", "recon")
MIN_FIT_ROWS = 5
CALIBRATION_MODELS = 10  # the most models a small table's calibration trains (see calibration_folds)
PARTS_MAX_ROWS = 100_000  # a table of this many rows or more trains no models of its parts (see calibration_folds)
COLLECT_ROWS = 100_000  # a table this large is worth a garbage collection to free before training
SEED_MAX = 2**32 - 1  # scikit-learn's bound on random_state; numpy refuses negative seeds, torch larger ones


def check_seed(seed) -> None:
    if not 0 <= int(seed) <= SEED_MAX:
        raise ParamError("seed", f"{{name}} must be a whole number from 0 to {SEED_MAX:,}; got {seed}")


def calibration_folds(perm: np.ndarray, n_val: int, target: float) -> list[np.ndarray]:
    """Where the held-out rows are too few to hold STEADY_ROWS_ABOVE of them above the threshold (1,000 at
    --fpr 0.01), more of the table in parts of their size until they do, or all of it: a model of each part
    trains on the other rows, as the model itself does, and scores its part. The threshold then rests on
    scores from models that never saw their rows, and on ten of them above it, not on one or two of a
    held-out tenth, where the seed's choice of rows set it (README, "Calibrates"). [] where the held-out
    rows suffice."""
    if steady(n_val, target) or len(perm) >= PARTS_MAX_ROWS:
        # A large table is not kept for the parts' models (each costing what the model does): at a rate so
        # rare that its held-out rows hold few above it (--fpr 0.0001: 1M rows), a larger --val-fraction does.
        return []
    # At most ten models in all, whatever --val-fraction is (0.01 would ask for a hundred): the parts
    # grow instead, and their models train on a little less than the model itself.
    parts = np.array_split(perm[n_val:], min(CALIBRATION_MODELS - 1, max(1, int(round(len(perm) / n_val)) - 1)))
    wanted = max(1, math.ceil((STEADY_ROWS_ABOVE / target - n_val) / len(parts[0]) - 1e-9))
    return [np.sort(p) for p in parts[:wanted] if len(p) and len(perm) - len(p) >= MIN_FIT_ROWS]


def resolve_device(device: str) -> str:
    """The device to run on, "cpu" or "cuda". Only asking about a GPU imports torch: on the CPU, scoring runs without it."""
    if device not in ("auto", "cpu", "cuda"):
        raise ParamError("device", f"unknown {{name}} '{device}'; use auto, cpu or cuda")
    if device == "cpu":
        return device
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ParamError("device", "{name} cuda was asked for but no CUDA GPU is visible; use {name} cpu or auto")
    return "cuda" if torch.cuda.is_available() else "cpu"


def as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        if all(isinstance(c, str) for c in X.columns):
            return X
        # pd.DataFrame(array) names its columns 0, 1, ...: the model names columns as text, so
        # columns are looked up by their text (a view: the data are not copied).
        out = X.copy(deep=False)
        out.columns = [str(c) for c in X.columns]
        return out
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # a scipy.sparse matrix: np.asarray gave a 0-d array holding it
        X = X.toarray()
    elif hasattr(X, "to_pandas"):  # a pyarrow Table or RecordBatch, a polars DataFrame: its names and types kept
        return as_frame(X.to_pandas())
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InputError(
            f"expected a 2-D table, got an array of shape {arr.shape}. Reshape your data with "
            f"array.reshape(1, -1) for a single row, or array.reshape(-1, 1) for a single column"
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def tensors(arrays, device: str) -> tuple:
    """The network's inputs (`Encoded.inputs` or `Preprocessor.network_inputs`) as torch tensors on `device`."""
    import torch

    return tuple(torch.from_numpy(a).to(device) for a in arrays)


class Detector:
    _not_fitted = NotFittedError
    _model = None  # the network in torch, once trained or asked for (see `model_`)

    def __init__(
        self,
        model: str = DEFAULTS.model,
        latent_dim: int = DEFAULTS.latent_dim,
        hidden: tuple[int, ...] = DEFAULTS.hidden,
        epochs: int | None = None,
        batch_size: int | None = None,  # None: 1024, or 2048 from 100,000 training rows (train.auto_batch_size)
        lr: float = DEFAULTS.lr,
        beta: float = DEFAULTS.beta,
        score: str | None = None,
        samples: int = DEFAULTS.samples,
        fpr: float | None = None,
        contamination: float | None = None,
        val_fraction: float = DEFAULTS.val_fraction,
        max_categories: int = DEFAULTS.max_categories,
        seed: int = DEFAULTS.seed,
        device: str = "auto",
        ignore: tuple[str, ...] = (),
        roles: dict[str, str] | None = None,
        strict: bool = False,
        trim: float = DEFAULTS.trim,
    ):
        self.model = model
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.score = score
        self.samples = samples
        self.fpr = fpr
        self.contamination = contamination
        self.val_fraction = val_fraction
        self.max_categories = max_categories
        self.seed = seed
        self.device = device
        self.ignore = ignore
        self.roles = roles
        self.strict = strict
        self.trim = trim

    # ---- configuration checks ------------------------------------------------------------------
    def _check_params(self) -> str:
        if self.model not in VARIANTS:
            raise ParamError("model", f"unknown {{name}} '{self.model}'; choose one of: {', '.join(VARIANTS)}")
        kind = self.score or ("elbo" if self.model == "vae" else "recon")
        if kind not in SCORE_KINDS:
            raise ParamError("score", f"unknown {{name}} '{kind}'; choose elbo or recon")
        if kind == "elbo" and self.model != "vae":
            raise ParamError("score", f"{{name}} elbo needs the vae model (a {self.model} has no ELBO); use {{name}} recon")
        for name, value in (("latent_dim", self.latent_dim), ("batch_size", 1 if self.batch_size is None else self.batch_size),
                            ("samples", self.samples), ("epochs", 1 if self.epochs is None else self.epochs)):
            if int(value) < 1:
                raise ParamError(name, f"{{name}} must be at least 1; got {value}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ParamError("hidden", f"{{name}} needs positive layer sizes such as 64,32; got {self.hidden}")
        if not self.lr > 0:
            raise ParamError("lr", f"{{name}} must be positive; got {self.lr}")
        if not self.beta >= 0:
            raise ParamError("beta", f"{{name}} must be zero or more; got {self.beta}")
        check_seed(self.seed)
        if not 0.0 <= self.trim < 0.5:
            raise ParamError("trim", f"{{name}} must be at least 0 and below 0.5; got {self.trim}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ParamError("val_fraction", f"{{name}} must be between 0 and 1; got {self.val_fraction}")
        check_rates(self.fpr, self.contamination)
        return kind

    # ---- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X,
        y=None,
        on_epoch: Callable[[EpochRecord, int], None] | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: str | Path | None = None,
        hints: dict[str, str] | None = None,
        on_calibration: Callable[[int, int], None] | None = None,
    ) -> "Detector":
        """Learn what normal rows look like from X (labels, if given, are ignored).

        checkpoint_dir: save the model after every epoch that improved (state "training"), from the first.
        resume: such a folder from an interrupted fit on the same data and options; training continues
        from its last saved epoch (with a fresh optimiser state).
        hints: what the file format says each column holds (Zeek's #types), from `sources.open_source`.
        on_calibration: hears (done, folds) before and as each fold model of a small table's calibration is trained.
        """
        score_kind = self._check_params()
        df = as_frame(X)
        if len(df) < MIN_FIT_ROWS:
            raise InputError(f"need at least {MIN_FIT_ROWS} rows to fit, got {len(df)}")
        specs = infer_schema(df, tuple(self.ignore), self.roles, hints)

        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(df))
        n_val = min(len(df) - 1, max(1, int(round(self.val_fraction * len(df)))))
        val_idx = np.sort(perm[:n_val])
        folds = calibration_folds(perm, n_val, target_rate(self.fpr, self.contamination)[1])
        kept = df if folds else None  # a small table: the fold models train on it too
        # Each calibration row's hosts, as codes, in the order of the calibration scores below (hosts.baseline_counts).
        calibration_rows = np.concatenate([val_idx, *folds])
        hosts = {c: pd.factorize(df[c].iloc[calibration_rows]) for c in host_columns(specs) if c in df.columns}
        # Handed over, not held: when the caller passed its only reference (pipeline.fit_file does),
        # training runs without the table in memory.
        table = [df]
        del X, df
        with self._parts(kept, specs, folds, score_kind) as parts:
            # Beside the parts' processes, one thread: threads that wait for each other at every step while
            # those processes hold the cores stall (train.crowded_warning).
            with torch_threads(1 if parts.forked else None):
                held_scores, held_codes = self._train(table, specs, val_idx, score_kind, on_epoch, checkpoint_dir, resume)
            if on_calibration is not None and folds:
                on_calibration(0, len(folds))
            scores = np.concatenate([held_scores, *parts.results(on_calibration)])
        # In this model's codes: a part's model numbers the categories by its own training rows.
        codes = [held_codes, *(self.preprocessor_.transform(kept.iloc[fold], network_only=True).x_cat for fold in folds)]
        self.calibration_ = Calibration.from_scores(scores, self.fpr, self.contamination, folds=len(folds) + 1)
        self.host_baselines_ = baseline_counts(hosts, self.calibration_.flags(scores))
        # Judged on every calibration row, as the threshold is: a kind among the held-out tenth alone was
        # judged against a threshold that the other parts' rows had set.
        self.left_out_kinds_ = left_out_kinds(self.preprocessor_.categorical, np.concatenate(codes), scores,
                                              self.calibration_.threshold, float(self.trim))
        return self

    def _parts(self, kept: pd.DataFrame | None, specs, folds: list[np.ndarray], score_kind: str) -> ForkedMap:
        """The scores of each part in `folds` by a model trained on the rest of `kept` (calibration_folds),
        as a ForkedMap to start before the model itself trains.

        Up to nine such models trained one after another once the model itself had, each on one thread where
        a step of its size gains nothing from more (train.step_threads), while the other cores sat idle. They
        train side by side in forked processes, one thread each, where the CPUs allow, from the start of the
        fit, beside the model itself, which then trains on one thread too: on Linux a small table's model and
        threshold are the same whatever the thread count. On a GPU they train here, after the model."""

        def part(k: int) -> np.ndarray:
            return self._fold_model()._train([kept], specs, folds[k], score_kind)[0]

        # Each process's own copies of its rows, in its transforms and encoding: a part's model of 81,000
        # rows x 39 columns held 157 MiB of its own (about 46 bytes a value).
        forked = len(folds) > 0 and resolve_device(self.device) == "cpu"
        return ForkedMap(part, len(folds), fork_workers(len(folds), len(kept) * len(kept.columns) * 48) if forked else 0)

    def _fold_model(self) -> "Detector":
        """An unfitted detector with this one's parameters (a model of one calibration fold)."""
        fold = Detector.__new__(Detector)
        fold.__dict__.update({k: v for k, v in self.__dict__.items() if not k.endswith("_") and not k.startswith("_")})
        return fold

    def _train(self, table: list, specs, val_idx: np.ndarray, score_kind: str, on_epoch=None, checkpoint_dir=None,
               resume=None) -> tuple[np.ndarray, np.ndarray]:
        """Fit on the rows of `table[0]` outside `val_idx` (taking the list's only item, so the table can
        be freed) and return the scores of the rows in `val_idx`, which `fit` calibrates on, and their
        category codes (for calibrate.left_out_kinds)."""
        import torch

        from .model import TabularAutoencoder
        from .train import BASE_BATCH, TrainConfig, TrainResult, auto_batch_size, auto_epochs, train

        df = table.pop()
        device = resolve_device(self.device)
        train_idx = np.setdiff1d(np.arange(len(df)), val_idx, assume_unique=True)
        n_train = len(train_idx)

        # The training rows are never copied as a table: the preprocessor reads them a column at a time
        # and the network's inputs are encoded a chunk at a time (fit on 1M rows: 1.9 GiB -> under 1 GiB).
        pre = Preprocessor.fit(df, specs, max_categories=self.max_categories, strict=self.strict, rows=train_idx)
        large = len(df) >= COLLECT_ROWS
        if large:  # the column fits' copies, freed on their threads, before the training arrays are made
            release_freed_memory()
        torch.manual_seed(self.seed)
        net = TabularAutoencoder(
            len(pre.numeric), pre.missing_flag_index, pre.vocab_sizes, int(self.latent_dim), [int(h) for h in self.hidden], self.model
        ).to(device)
        self.schema_, self.preprocessor_, self.model_, self.device_ = specs, pre, net, device
        self.network_ = None  # the numpy scoring pass, once trained
        self.score_kind_ = score_kind
        self.eps_ = torch.randn(int(self.samples), int(self.latent_dim), generator=torch.Generator().manual_seed(self.seed + 1)).numpy()
        self.calibration_ = None
        self.calibration_history_ = []
        self.baselines_ = np.zeros(len(pre.column_names))
        self.contribution_stats_ = None
        self.n_train_rows_, self.n_val_rows_ = n_train, len(val_idx)
        self.feature_names_in_ = np.asarray([str(c) for c in df.columns], dtype=object)
        self.n_features_in_ = len(df.columns)
        self.created_ = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.given_names_ = None  # a table without a header line: fit_file keeps the names it was read with
        self.events_ = None  # Suricata's events of other types than flows: fit_file keeps the types it read
        self.left_out_kinds_ = []  # kinds of held-out rows mostly above the threshold (calibrate.left_out_kinds); not saved

        # The validation rows are copied out (a tenth of the table) and encoded once the table is gone: their
        # encoding (float64 evidence terms and all) is twice the copy's size, and the fit peaks while the
        # table and the training arrays are both held (1M rows from Parquet: 1,025 -> 992 MiB).
        val_rows = df.iloc[val_idx]
        train_t = tensors(pre.network_inputs(df, train_idx), device)
        del df
        if large:  # pandas frames hold reference cycles: free the table now, not at some later collection
            gc.collect()  # (a tenth of a second with torch loaded, whatever there is to free)
            release_freed_memory()
        val_enc = pre.transform(val_rows, strict=self.strict)  # the training rows were checked by Preprocessor.fit
        del val_rows
        val_t = tensors(val_enc.inputs, device)
        if self.batch_size is not None:
            batch, epochs = int(self.batch_size), self.epochs
        else:
            batch = auto_batch_size(n_train)
            epochs = self.epochs or auto_epochs(n_train, BASE_BATCH)
        self.batch_size_ = batch
        config = TrainConfig(epochs=epochs, batch_size=batch, lr=float(self.lr), beta=float(self.beta), trim=float(self.trim))
        self.train_config_ = config
        on_best = None
        if checkpoint_dir is not None:
            from .manifest import save

            def on_best(model, result):  # noqa: E306 - save the best epoch so far, so a crash loses little
                self.history_ = result
                save(self, checkpoint_dir, state="training")

        self.history_ = TrainResult()
        start_epoch = 0
        if resume is not None:
            from .manifest import restore_training

            self.history_ = restore_training(self, resume)
            start_epoch = self.history_.saved_epoch
        self.history_ = train(
            net, train_t, val_t, config, torch.Generator().manual_seed(self.seed + start_epoch), on_epoch, on_best,
            start_epoch=start_epoch, result=self.history_,
        )

        from .scoring import score_encoded

        self.network_ = net.to_scoring()
        # From here on the model scores as `vaeguard score` and a loaded model do by default: numpy's pass
        # on the CPU. A GPU's sums differ from it in the last bits, and where many rows score alike (a log's
        # repeated connections), a threshold calibrated on the GPU's scores fell a hair under a third of the
        # rows the CPU then scored (a firewall log of two kinds of row, fitted on an H200: 29.7% flagged at --fpr 0.01).
        self.device_, self._model = "cpu", None
        val_scores, val_contrib = score_encoded(self, val_enc, worker_count())  # 100,000 rows: 0.23 s -> 0.14 on two cores
        if len(val_contrib):
            self.baselines_ = np.median(val_contrib, axis=0)
            self.contribution_stats_ = (val_contrib.mean(axis=0), val_contrib.std(axis=0))
        return val_scores, val_enc.x_cat

    # ---- scoring -------------------------------------------------------------------------------
    @property
    def model_(self):
        """The network in torch (training, explanations, samples, ONNX, GPU scoring). A loaded model scores
        on the CPU with the numpy pass in `network_` alone, and builds this from it on first use."""
        if self._model is None and getattr(self, "network_", None) is not None:
            from .model import TabularAutoencoder

            self._model = TabularAutoencoder.from_scoring(self.network_).to(self.device_)
        return self._model

    @model_.setter
    def model_(self, model) -> None:
        self._model = model

    def _check_fitted(self) -> None:
        if getattr(self, "network_", None) is None or getattr(self, "calibration_", None) is None:
            raise self._not_fitted("this VAEGuard is not fitted yet; call fit() or VAEGuard.load() first")

    def anomaly_score(self, X) -> np.ndarray:
        """Per-row anomaly score: higher means more anomalous (negative ELBO or reconstruction NLL, in nats)."""
        from .scoring import score_rows

        self._check_fitted()
        return score_rows(self, as_frame(X), strict=self.strict).scores

    def score_frame(self, X) -> pd.DataFrame:
        from .scoring import score_frame

        self._check_fitted()
        return score_frame(self, as_frame(X), strict=self.strict)

    def score_samples(self, X) -> np.ndarray:
        """The opposite of the anomaly score, as in scikit-learn: the lower, the more abnormal."""
        return -self.anomaly_score(X)

    @property
    def offset_(self) -> float:
        self._check_fitted()
        return -self.calibration_.threshold

    def decision_function(self, X) -> np.ndarray:
        """score_samples minus offset_: negative for rows flagged as anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """-1 for anomalies, 1 for normal rows."""
        return np.where(self.anomaly_score(X) > self.calibration_.threshold, -1, 1)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).predict(X)

    # ---- day-two operations ----------------------------------------------------------------------
    def recalibrate(self, X, fpr: float | None = None, contamination: float | None = None) -> tuple[Calibration, int, dict[str, int]]:
        """Move the threshold using fresh normal rows, without retraining. The old calibration is kept in
        `calibration_history_` (threshold, mode, target, size and date, and how many of these rows it flagged against
        its promise, with the drift test's verdict; not its scores). Returns the new
        calibration, the rows left out of it as flagged whatever the threshold, and those per column."""
        from .drift import drift_from
        from .scoring import rare_cost, rare_novelty, score_rows

        self._check_fitted()
        df = as_frame(X)
        # As many as a fit needs: the threshold of fewer rows is their highest score, which a new normal row
        # exceeds 1 time in n + 1 (a third of them for 2 rows), however low the rate asked for.
        if len(df) < MIN_FIT_ROWS:
            why = f": the highest of {len(df)} scores is exceeded by 1 in {len(df) + 1} normal rows" if len(df) else ""
            raise InputError(f"need at least {MIN_FIT_ROWS} rows to calibrate, got {len(df)}{why}; calibrate on more normal rows")
        old = self.calibration_
        if fpr is None and contamination is None:
            fpr, contamination = (old.target, None) if old.mode == "fpr" else (None, old.target)
        mode, target = check_rates(fpr, contamination)
        # Rows holding a value training never held, rarer there than the target rate, are flagged whatever
        # the threshold (scoring.fixed_terms): with --fpr the threshold is set on the other rows, scored as
        # fit scores its held-out rows. Among them, such rows pushed it up for every other row (a capture of services
        # its model's training never saw: 11.0 -> 74.8, and a third of the model's other flags gone).
        self.calibration_ = None
        # Scored a chunk at a time, as score does: a million rows of a conn log at once peaked at 1.6 GiB.
        # Kept of each chunk: its scores, which rows hold a rare unseen value (and per column how many), and each
        # other term outside the network past the rate's cost, with its row and column: a number far past the
        # training range may be one (a few per row, where the traffic changed; not the rows x columns of terms).
        cost = rare_cost(target)
        scores, novel, unseen_per_column, far = [], [], 0, []
        try:
            for start in range(0, len(df), DEFAULTS.chunk_size):
                rs = score_rows(self, df.iloc[start:start + DEFAULTS.chunk_size], strict=self.strict)
                unseen = rare_novelty(rs.encoded, target)
                scores.append(rs.scores)
                novel.append(unseen.any(axis=1))
                unseen_per_column = unseen_per_column + unseen.sum(axis=0)
                r, c = np.nonzero((rs.encoded.fixed > cost) & ~unseen)
                far.append((start + r, c, rs.encoded.fixed[r, c]))
                del rs, unseen
        finally:
            self.calibration_ = old
        scores, novel = np.concatenate(scores), np.concatenate(novel)
        far_rows, far_columns, far_terms = (np.concatenate(part) for part in zip(*far))
        # A term as large as the calibration's floor flags its row whatever the threshold too (a count far past
        # the training range, rare_novelty's floor), and the floor follows the threshold (Calibration.from_scores):
        # from the old one's, until the rows it leaves out are the rows the new one would (a couple of rounds).
        # Left in, a capture's far counts had set the threshold for every other row, as unseen values had.
        floor, seen = old.novelty_floor or math.inf, None
        for _ in range(5):
            past = far_terms >= floor
            flagged = novel.copy()
            flagged[far_rows[past]] = True
            # With --contamination the rows hold anomalies, and these count among the share to flag.
            kept = ~flagged if mode == "fpr" else np.ones(len(flagged), dtype=bool)
            if seen is not None and np.array_equal(flagged, seen):
                break
            if kept.sum() < MIN_FIT_ROWS:
                raise InputError(f"{int(flagged.sum()):,} of the {len(df):,} rows hold values training never held or numbers far "
                                 f"past its range, and those are flagged whatever the threshold: fewer than {MIN_FIT_ROWS} are left to "
                                 "set it on; if this traffic is normal, refit on it")
            new = Calibration.from_scores(scores[kept], fpr, contamination)
            floor, seen = new.novelty_floor, flagged
        novel = flagged
        rare_per_column = unseen_per_column + np.bincount(far_columns[past], minlength=len(self.preprocessor_.column_names))
        # Whether the old threshold kept its promise on the rows that replace it (drift.drift_from): far above
        # it, these rows are traffic the model did not learn, which the move hides from every later score.
        moved = drift_from(old, new)
        self.calibration_history_ = list(getattr(self, "calibration_history_", [])) + [{
            "mode": old.mode, "target": old.target, "threshold": old.threshold, "rows": int(len(old.scores)),
            "replaced": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "expected_flag_rate": moved.expected_flag_rate, "next_rows_flag_rate": moved.flag_rate, "p_value": moved.p_value,
            "drift": moved.drift,
        }]
        self.calibration_ = new
        # The hosts' own rates follow the threshold, from these rows (each row as scoring flags it now).
        flags = np.maximum(new.flags(scores), novel.astype(np.int8))
        self.host_baselines_ = baseline_counts({c: pd.factorize(df[c]) for c in host_columns(self.schema_) if c in df.columns}, flags)
        return new, int(novel.sum()), {name: int(k) for name, k in zip(self.preprocessor_.column_names, rare_per_column) if k}

    def explain(self, X) -> list[pd.DataFrame]:
        """For each row: every model column's contribution to its score, next to the value the model
        expected there (decoded from the row's latent mean), largest excess over typical first."""
        from .explain import explain_rows

        self._check_fitted()
        return explain_rows(self, as_frame(X))

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """Draw n rows from the prior through the decoder, in the original units and categories."""
        from .generate import sample_rows

        self._check_fitted()
        if n < 0:
            raise ParamError("n", f"{{name}} must be zero or more; got {n}")
        if seed is not None:
            check_seed(seed)
        return sample_rows(self, n, self.seed if seed is None else seed)

    # ---- persistence (manifest.py holds the format) ----------------------------------------------
    def save(self, path: str | Path, state: str = "trained") -> Path:
        from .manifest import save

        if getattr(self, "network_", None) is None:
            raise self._not_fitted("nothing to save: fit the model first")
        return save(self, path, state)

    def to_bundle(self):
        """The checkpoint as bytes in memory (what `save` would write), for shipping to workers."""
        from .manifest import to_bundle

        self._check_fitted()
        return to_bundle(self)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "Detector":
        """Load a model folder written by `save` / `vaeguard fit`, validating it before trusting it."""
        from .manifest import load

        return load(cls, path, device)

    @classmethod
    def from_bundle(cls, bundle, device: str = "cpu", where: str = "model bundle") -> "Detector":
        """Rebuild a model from `to_bundle()` bytes, with the same checks as `load`."""
        from .manifest import from_bundle

        return from_bundle(cls, bundle, device, where)


def check_config(detector: Detector) -> None:
    """Raise the first parameter error, before any data is read."""
    detector._check_params()
