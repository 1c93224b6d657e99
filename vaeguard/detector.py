"""Detector: everything VAEGuard does (fit / score_samples / decision_function / predict / save / load).

`vaeguard.api.VAEGuard` adds scikit-learn's base classes on top; the CLI and the workers use this class
directly because importing scikit-learn costs 0.75 s, a quarter of a small `vaeguard score` run.

Follows IsolationForest's contract: `score_samples` is higher for normal rows, `decision_function` is
negative for anomalies, `predict` gives -1 for anomalies and 1 for normal rows. `anomaly_score` is the
plain score the CLI writes (higher = more anomalous). Everything that turns a score into a flag lives in
the one fitted attribute `calibration_`.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from . import __version__, checkpoint
from .calibrate import Calibration
from .encode import Encoded, Preprocessor
from .errors import CheckpointError, ConfigError, InputError
from .model import VARIANTS, TabularAutoencoder
from .schema import ColumnSpec, infer_schema
from .train import BASE_BATCH, EpochRecord, TrainConfig, TrainResult, auto_batch_size, auto_epochs, train

SCORE_KINDS = ("elbo", "recon")
MIN_FIT_ROWS = 5


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device '{device}'; use auto, cpu or cuda")
    return torch.device(device)


def _typed_labels(labels: np.ndarray, kind: str) -> np.ndarray:
    """Category labels back to the type they had in training (codes as numbers, flags as booleans)."""
    if kind == "number":
        return pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce").to_numpy()
    if kind == "bool":
        return np.array([None if v is None else v == "True" for v in labels], dtype=object)
    return labels


def as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InputError(
            f"expected a 2-D table, got an array of shape {arr.shape}. Reshape your data with "
            f"array.reshape(1, -1) for a single row, or array.reshape(-1, 1) for a single column"
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


class Detector:
    def __init__(
        self,
        model: str = "vae",
        latent_dim: int = 8,
        hidden: tuple[int, ...] = (64, 32),
        epochs: int | None = None,
        batch_size: int | None = None,  # None: 1024, or 2048 from 100,000 training rows (train.auto_batch_size)
        lr: float = 1e-3,  # see train.TrainConfig.lr for the sweep behind it
        beta: float = 1.0,
        score: str | None = None,
        samples: int = 4,  # 16 scored no better on the quality benchmark (0.749 vs 0.748 ROC-AUC) and 1.4x slower
        fpr: float | None = None,
        contamination: float | None = None,
        val_fraction: float = 0.1,
        max_categories: int = 200,
        seed: int = 0,
        device: str = "auto",
        ignore: tuple[str, ...] = (),
        coerce: bool = False,
        trim: float = 0.05,
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
        self.coerce = coerce
        self.trim = trim

    # ---- configuration checks ------------------------------------------------------------------
    def _check_params(self) -> str:
        if self.model not in VARIANTS:
            raise ConfigError(f"unknown --model '{self.model}'; choose one of: {', '.join(VARIANTS)}")
        kind = self.score or ("elbo" if self.model == "vae" else "recon")
        if kind not in SCORE_KINDS:
            raise ConfigError(f"unknown --score '{kind}'; choose elbo or recon")
        if kind == "elbo" and self.model != "vae":
            raise ConfigError(f"--score elbo needs --model vae (a {self.model} has no ELBO); use --score recon")
        for name, value, low in (("latent-dim", self.latent_dim, 1), ("batch-size", 1 if self.batch_size is None else self.batch_size, 1), ("samples", self.samples, 1)):
            if int(value) < low:
                raise ConfigError(f"--{name} must be at least {low}; got {value}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1; got {self.epochs}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ConfigError(f"--hidden needs positive layer sizes such as 64,32; got {self.hidden}")
        if not self.lr > 0:
            raise ConfigError(f"--lr must be positive; got {self.lr}")
        if not self.beta >= 0:
            raise ConfigError(f"--beta must be zero or more; got {self.beta}")
        if not 0.0 <= self.trim < 0.5:
            raise ConfigError(f"--trim must be at least 0 and below 0.5; got {self.trim}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"--val-fraction must be between 0 and 1; got {self.val_fraction}")
        return kind

    # ---- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X,
        y=None,
        on_epoch: Callable[[EpochRecord, int], None] | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: str | Path | None = None,
    ) -> "Detector":
        """Learn what normal rows look like from X (labels, if given, are ignored).

        checkpoint_dir: save the best epoch so far there while training (state "training").
        resume: such a folder from an interrupted fit on the same data and options; training continues
        from its last saved epoch (with a fresh optimiser state).
        """
        score_kind = self._check_params()
        df = as_frame(X)
        if len(df) < MIN_FIT_ROWS:
            raise InputError(f"need at least {MIN_FIT_ROWS} rows to fit, got {len(df)}")
        device = resolve_device(self.device)
        specs = infer_schema(df, tuple(self.ignore))

        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(df))
        n_val = min(len(df) - 1, max(1, int(round(self.val_fraction * len(df)))))
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        train_df, val_df = df.iloc[train_idx], df.iloc[val_idx]

        pre = Preprocessor.fit(train_df, specs, coerce=self.coerce, max_categories=self.max_categories)
        torch.manual_seed(self.seed)
        net = TabularAutoencoder(
            len(pre.numeric), pre.missing_flag_index, pre.vocab_sizes, int(self.latent_dim), [int(h) for h in self.hidden], self.model
        ).to(device)
        self.schema_, self.preprocessor_, self.model_ = specs, pre, net
        self.score_kind_ = score_kind
        self.eps_ = torch.randn(int(self.samples), int(self.latent_dim), generator=torch.Generator().manual_seed(self.seed + 1))
        self.calibration_ = None
        self.baselines_ = np.zeros(len(pre.column_names))
        self.n_train_rows_, self.n_val_rows_ = len(train_df), len(val_df)
        self.feature_names_in_ = np.asarray([str(c) for c in df.columns], dtype=object)
        self.n_features_in_ = len(df.columns)

        train_t = self._tensors(pre.transform(train_df, coerce=self.coerce), device)
        val_t = self._tensors(pre.transform(val_df, coerce=self.coerce), device)
        if self.batch_size is not None:
            batch, epochs = int(self.batch_size), self.epochs
        else:
            batch = auto_batch_size(len(train_df))
            epochs = self.epochs or auto_epochs(len(train_df), BASE_BATCH)
        self.batch_size_ = batch
        config = TrainConfig(epochs=epochs, batch_size=batch, lr=float(self.lr), beta=float(self.beta), trim=float(self.trim))
        self.train_config_ = config
        on_best = None
        if checkpoint_dir is not None:
            def on_best(model, result):  # noqa: E306 - save the best epoch so far, so a crash loses little
                self.history_ = result
                self.save(checkpoint_dir, state="training")

        self.history_ = TrainResult()
        start_epoch = 0
        if resume is not None:
            self.history_ = self._restore_training(resume)
            start_epoch = self.history_.best_epoch
        self.history_ = train(
            net, train_t, val_t, config, torch.Generator().manual_seed(self.seed + start_epoch), on_epoch, on_best,
            start_epoch=start_epoch, result=self.history_,
        )

        val_scores, val_contrib = self._score_encoded(pre.transform(val_df, coerce=self.coerce))
        self.baselines_ = np.median(val_contrib, axis=0) if len(val_contrib) else self.baselines_
        self.calibration_ = Calibration.from_scores(val_scores, self.fpr, self.contamination)
        return self

    def _restore_training(self, folder: str | Path) -> TrainResult:
        """Load the weights and history an interrupted fit saved, after checking they fit this model."""
        manifest = checkpoint.read_manifest(folder)
        if manifest["state"] != "training":
            raise CheckpointError(f"'{folder}' holds a finished model, not an interrupted fit; run fit without --resume")
        if manifest["preprocessing"] != self.preprocessor_.to_dict() or manifest["model"] != self._manifest("training")["model"]:
            raise CheckpointError(
                f"the interrupted fit in '{folder}' used other data or options; rerun it with the same ones, or fit without --resume"
            )
        # The scoring draws come from the seed again (self.eps_); only their shape is checked here.
        self._load_weights(checkpoint.read_weights(folder, manifest), str(folder))
        t = manifest["training"]
        try:
            records = [EpochRecord(**r) for r in t["history"]][: int(t["best_epoch"])]
            return TrainResult(records, int(t["best_epoch"]), float(t["best_val_loss"]), False)
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"the interrupted fit in '{folder}' has a malformed history ({e}); fit without --resume") from None

    def _load_weights(self, tensors: dict[str, torch.Tensor], where: str) -> torch.Tensor:
        """Check saved tensors against this model (names, shapes, dtypes, finite), load the weights,
        and return the saved scoring draws."""
        expected = {f"model.{k}": v for k, v in self.model_.state_dict().items()}
        expected["scoring.eps"] = torch.empty(int(self.samples), int(self.latent_dim))
        checkpoint.check_state_dict(expected, tensors, where)
        self.model_.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        return tensors["scoring.eps"]

    @staticmethod
    def _tensors(enc: Encoded, device: torch.device) -> tuple[torch.Tensor, ...]:
        return (
            torch.from_numpy(enc.x_num).to(device),
            torch.from_numpy(enc.observed).to(device),
            torch.from_numpy(enc.x_cat).to(device),
        )

    # ---- scoring -------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if getattr(self, "model_", None) is None or getattr(self, "calibration_", None) is None:
            raise ConfigError("this VAEGuard is not fitted yet; call fit() or VAEGuard.load() first")

    def _score_encoded(self, enc: Encoded) -> tuple[np.ndarray, np.ndarray]:
        """Scores and per-column contributions for encoded rows, in fixed-size batches."""
        device = next(self.model_.parameters()).device
        eps = self.eps_.to(device)
        n = enc.x_num.shape[0]
        scores = np.empty(n, dtype=np.float64)
        contrib = np.empty((n, len(self.preprocessor_.column_names)), dtype=np.float64)
        self.model_.eval()
        rows = self.model_.score_batch_rows(eps.shape[0] if self.score_kind_ == "elbo" else 1)
        for start in range(0, n, rows):
            sl = slice(start, start + rows)
            part = Encoded(enc.x_num[sl], enc.observed[sl], enc.x_cat[sl])
            m = part.x_num.shape[0]
            if m < rows:
                # Always the same batch shape: matrix kernels pick their summation order by shape, so a
                # row scored in a short batch could differ in the last bits from the same row in a full one.
                # Padding makes scores byte-identical whatever the chunking.
                part = Encoded(*(np.concatenate([a, np.zeros((rows - m, a.shape[1]), a.dtype)]) for a in (part.x_num, part.observed, part.x_cat)))
            s, c = self.model_.score(*self._tensors(part, device), kind=self.score_kind_, eps=eps)
            scores[sl] = s[:m].double().cpu().numpy()
            contrib[sl] = c[:m].double().cpu().numpy()
        return scores, contrib

    def anomaly_score(self, X, coerce: bool = False) -> np.ndarray:
        """Per-row anomaly score: higher means more anomalous (negative ELBO or reconstruction NLL)."""
        from .scoring import score_chunk

        self._check_fitted()
        out, _ = score_chunk(self, as_frame(X), coerce=coerce)
        return out["anomaly_score"].to_numpy()

    def score_frame(self, X, coerce: bool = False) -> pd.DataFrame:
        from .scoring import score_frame

        self._check_fitted()
        return score_frame(self, as_frame(X), coerce=coerce)

    def score_samples(self, X) -> np.ndarray:
        """The opposite of the anomaly score, as in scikit-learn: the lower, the more abnormal."""
        return -self.anomaly_score(X)

    # ---- day-two operations ----------------------------------------------------------------------
    def recalibrate(self, X, fpr: float | None = None, contamination: float | None = None, coerce: bool = False) -> Calibration:
        """Move the threshold using fresh normal rows, without retraining. The old calibration is kept in
        `calibration_history_` (threshold, mode, target, size and date; not its scores)."""
        from .scoring import score_chunk

        self._check_fitted()
        df = as_frame(X)
        if len(df) < 2:
            raise InputError(f"need at least 2 rows to calibrate, got {len(df)}")
        out, _ = score_chunk(self, df, coerce=coerce)
        old = self.calibration_
        if fpr is None and contamination is None:
            fpr, contamination = (old.target, None) if old.mode == "fpr" else (None, old.target)
        new = Calibration.from_scores(out["anomaly_score"].to_numpy(), fpr, contamination)
        self.calibration_history_ = list(getattr(self, "calibration_history_", [])) + [{
            "mode": old.mode, "target": old.target, "threshold": old.threshold, "rows": int(len(old.scores)),
            "replaced": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }]
        self.calibration_ = new
        return new

    def explain(self, X, coerce: bool = False) -> list[pd.DataFrame]:
        """For each row: every model column's contribution to its score, next to the value the model
        expected there (decoded from the row's latent mean), largest excess over typical first."""
        self._check_fitted()
        df = as_frame(X)
        from .schema import check_columns

        check_columns(df, self.schema_)
        pre = self.preprocessor_
        enc = pre.transform(df, coerce=coerce)
        _, contrib = self._score_encoded(enc)
        device = next(self.model_.parameters()).device
        with torch.no_grad():
            mu, _ = self.model_.encode(*self._tensors(enc, device))
            mean, _, logits = self.model_.decode(mu)
        expected_num = pre.inverse_numeric(mean.double().cpu().numpy()) if mean is not None else np.zeros((len(df), 0))
        expected_cat = []
        for j, col in enumerate(pre.categorical):
            if logits is None:
                break
            seg = logits[:, self.model_.cat_index[j, : len(col.vocab)]].cpu().numpy()
            expected_cat.append([col.vocab[k] for k in seg.argmax(axis=1)])
        names = pre.column_names
        roles = ["numeric"] * len(pre.numeric) + ["categorical"] * len(pre.categorical)
        tables = []
        for i in range(len(df)):
            expected = list(expected_num[i]) + [c[i] for c in expected_cat]
            t = pd.DataFrame({
                "column": names,
                "role": roles,
                "observed": [df[c].iloc[i] for c in names],
                "expected": expected,
                "contribution": contrib[i],
                "typical": self.baselines_,
                "excess": contrib[i] - self.baselines_,
            }).sort_values("excess", ascending=False, kind="stable").reset_index(drop=True)
            tables.append(t)
        return tables

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """Draw n rows from the prior through the decoder, in the original units and categories."""
        self._check_fitted()
        if n < 0:
            raise ConfigError(f"-n must be zero or more; got {n}")
        g = torch.Generator().manual_seed(self.seed if seed is None else seed)
        model = self.model_.cpu()
        pre = self.preprocessor_
        with torch.no_grad():
            z = torch.randn(n, self.latent_dim, generator=g)
            mean, flags, logits = model.decode(z)
            out: dict[str, np.ndarray] = {}
            if mean is not None:
                from .model import NUM_LOGVAR_MAX, NUM_LOGVAR_MIN

                std = torch.exp(0.5 * model.num_logvar.clamp(NUM_LOGVAR_MIN, NUM_LOGVAR_MAX))
                draw = mean + std * torch.randn(mean.shape, generator=g)
                values = pre.inverse_numeric(draw.double().numpy())
                missing = np.zeros_like(values, dtype=bool)
                if flags is not None:
                    p_missing = torch.sigmoid(flags).double().numpy()
                    missing[:, pre.missing_flag_index] = np.random.default_rng(g.initial_seed()).random(p_missing.shape) < p_missing
                for j, col in enumerate(pre.numeric):
                    v = np.round(values[:, j]) if col.integer else values[:, j]
                    out[col.name] = np.where(missing[:, j], np.nan, v)
            for j, col in enumerate(pre.categorical):
                seg = logits[:, model.cat_index[j, : len(col.vocab)]].clone()
                # Only real training values: never the unknown or pooled buckets.
                for k, label in enumerate(col.vocab):
                    if label.startswith("<") and label.endswith(">") and label != "<missing>":
                        seg[:, k] = float("-inf")
                idx = torch.multinomial(torch.softmax(seg, dim=1), 1, generator=g).squeeze(1).numpy() if n else np.zeros(0, int)
                labels = np.asarray(col.vocab, dtype=object)[idx]
                labels[labels == "<missing>"] = None
                out[col.name] = _typed_labels(labels, col.kind)
        model.to(next(self.model_.parameters()).device)
        order = [s.name for s in self.schema_ if s.name in out]
        return pd.DataFrame(out, columns=order)

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

    # ---- persistence ---------------------------------------------------------------------------
    def _manifest(self, state: str) -> dict:
        h = self.history_
        return {
            "vaeguard_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "state": state,
            "schema": [s.to_dict() for s in self.schema_],
            "feature_names_in": [str(c) for c in self.feature_names_in_],
            "preprocessing": self.preprocessor_.to_dict(),
            "model": {
                "variant": self.model,
                "latent_dim": int(self.latent_dim),
                "hidden": [int(x) for x in self.hidden],
            },
            "training": {
                "epochs": self.epochs,
                "batch_size": int(getattr(self, "batch_size_", None) or self.batch_size),
                "lr": float(self.lr),
                "beta": float(self.beta),
                "seed": int(self.seed),
                "val_fraction": float(self.val_fraction),
                "max_categories": int(self.max_categories),
                "coerce": bool(self.coerce),
                "trim": float(self.trim),
                "train_rows": int(self.n_train_rows_),
                "val_rows": int(self.n_val_rows_),
                "best_epoch": int(h.best_epoch),
                "best_val_loss": float(h.best_val_loss),
                "stopped_early": bool(h.stopped_early),
                "history": [vars(r) for r in h.history],
            },
            "scoring": {
                "score": self.score_kind_,
                "samples": int(self.samples),
                "columns": self.preprocessor_.column_names,
                "baselines": [float(b) for b in self.baselines_],
            },
            "calibration": self.calibration_.to_dict() if self.calibration_ is not None else None,
            "calibration_history": list(getattr(self, "calibration_history_", [])),
        }

    def _tensors_to_save(self) -> dict[str, torch.Tensor]:
        if getattr(self, "model_", None) is None:
            raise ConfigError("nothing to save: fit the model first")
        tensors = {f"model.{k}": v for k, v in self.model_.state_dict().items()}
        tensors["scoring.eps"] = self.eps_
        return tensors

    def save(self, path: str | Path, state: str = "trained") -> Path:
        tensors = self._tensors_to_save()
        checkpoint.remove_stale_temp_files(path) if Path(path).exists() else None
        return checkpoint.save(path, self._manifest(state), tensors)

    def to_bundle(self) -> checkpoint.Bundle:
        """The checkpoint as bytes in memory (what `save` would write), for shipping to workers."""
        self._check_fitted()
        return checkpoint.pack(self._manifest("trained"), self._tensors_to_save())[0]

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "Detector":
        """Load a model folder written by `save` / `vaeguard fit`, validating it before trusting it."""
        manifest = checkpoint.read_manifest(path)
        return cls._from_checked(manifest, lambda: checkpoint.read_weights(path, manifest), str(path), device)

    @classmethod
    def from_bundle(cls, bundle: checkpoint.Bundle, device: str = "cpu", where: str = "model bundle") -> "Detector":
        """Rebuild a model from `to_bundle()` bytes, with the same checks as `load`."""
        manifest = checkpoint.parse_manifest(bundle.manifest, where)
        return cls._from_checked(manifest, lambda: checkpoint.parse_weights(bundle.weights, manifest, where), where, device)

    @classmethod
    def _from_checked(cls, manifest: dict, read_tensors, where: str, device: str) -> "Detector":
        if manifest["state"] != "trained":
            raise CheckpointError(
                f"the model in '{where}' did not finish training (fit was interrupted); run `vaeguard fit` again"
            )
        try:
            guard = cls._from_manifest(manifest)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise CheckpointError(f"the manifest in '{where}' is malformed ({type(e).__name__}: {e}); retrain with `vaeguard fit`") from None
        guard.eps_ = guard._load_weights(read_tensors(), where)
        guard.model_.to(resolve_device(device)).eval()
        return guard

    @classmethod
    def _from_manifest(cls, m: dict) -> "Detector":
        t, s, mdl = m["training"], m["scoring"], m["model"]
        cal = m["calibration"]
        if cal is None:
            raise CheckpointError("the manifest has no calibration; run `vaeguard fit` again")
        guard = cls(
            model=str(mdl["variant"]),
            latent_dim=int(mdl["latent_dim"]),
            hidden=tuple(int(h) for h in mdl["hidden"]),
            epochs=t["epochs"],
            batch_size=int(t["batch_size"]),
            lr=float(t["lr"]),
            beta=float(t["beta"]),
            score=str(s["score"]),
            samples=int(s["samples"]),
            val_fraction=float(t["val_fraction"]),
            max_categories=int(t["max_categories"]),
            seed=int(t["seed"]),
            coerce=bool(t["coerce"]),
            trim=float(t.get("trim", 0.0)),
        )
        guard.score_kind_ = guard._check_params()
        guard.schema_ = [ColumnSpec(str(c["name"]), str(c["role"]), str(c["reason"])) for c in m["schema"]]
        guard.preprocessor_ = Preprocessor.from_dict(m["preprocessing"])
        pre = guard.preprocessor_
        if [c for c in pre.column_names] != [str(c) for c in s["columns"]]:
            raise CheckpointError("the manifest's preprocessing and scoring columns disagree; the model folder is corrupt")
        guard.baselines_ = np.asarray(s["baselines"], dtype=np.float64)
        if guard.baselines_.shape != (len(pre.column_names),):
            raise CheckpointError("the manifest's score baselines do not match its columns; the model folder is corrupt")
        guard.calibration_ = Calibration.from_dict(cal)
        history = m.get("calibration_history", [])
        if not isinstance(history, list):
            raise CheckpointError("the manifest's calibration_history is not a list; the model folder is corrupt")
        guard.calibration_history_ = history
        guard.feature_names_in_ = np.asarray(m.get("feature_names_in", []), dtype=object)
        guard.n_features_in_ = len(guard.feature_names_in_)
        guard.n_train_rows_, guard.n_val_rows_ = int(t["train_rows"]), int(t["val_rows"])
        from .train import EpochRecord as _ER

        guard.history_ = TrainResult(
            [_ER(**r) for r in t["history"]], int(t["best_epoch"]),
            float(t["best_val_loss"]) if t["best_val_loss"] is not None else float("inf"), bool(t["stopped_early"]),
        )
        guard.model_ = TabularAutoencoder(
            len(pre.numeric), pre.missing_flag_index, pre.vocab_sizes, guard.latent_dim, list(guard.hidden), guard.model
        )
        return guard
