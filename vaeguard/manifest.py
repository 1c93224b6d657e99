"""The model folder's manifest, in one place: what a fitted Detector writes and how it is read back.

checkpoint.py stores bytes safely (JSON + safetensors, checksummed, no pickle); this module maps a
Detector to the manifest's sections and back, checking every value before the model is used:

    schema         columns with their roles and reasons
    preprocessing  per-column transforms (encode.Preprocessor)
    model          variant, latent size, hidden layers
    training       options, rows, history, best epoch
    scoring        score kind, K, column names, baselines and calibration-row statistics
    calibration    threshold and sorted calibration scores; calibration_history: earlier thresholds
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import __version__, checkpoint
from .calibrate import Calibration
from .encode import Preprocessor
from .errors import CheckpointError
from .forward import NetworkShape, ScoringNetwork
from .history import EpochRecord, TrainResult
from .schema import ColumnSpec

if TYPE_CHECKING:
    from .detector import Detector


def _network_shape(d: "Detector") -> NetworkShape:
    return d._model.network_shape if d._model is not None else d.network_.shape


def _weights(d: "Detector") -> dict[str, np.ndarray]:
    """The torch model's weights while it exists (a fit saves its best epoch so far as it trains; a model
    built for explanations holds the same weights), else the numpy pass's."""
    if d._model is not None:
        return d._model.numpy_weights()
    return d.network_.weights


def build(d: "Detector", state: str) -> dict:
    h = d.history_
    stats = getattr(d, "contribution_stats_", None)
    shape = _network_shape(d)
    return {
        "vaeguard_version": __version__,
        "created": getattr(d, "created_", None) or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "state": state,
        "schema": [s.to_dict() for s in d.schema_],
        "feature_names_in": [str(c) for c in d.feature_names_in_],
        # The --names of a table without a header line: the next such file is read with them.
        "given_names": getattr(d, "given_names_", None),
        # The Suricata event types it was fitted on (--events): score reads those of the next eve.json.
        "events": getattr(d, "events_", None),
        "preprocessing": d.preprocessor_.to_dict(),
        "model": {"variant": d.model, "latent_dim": int(d.latent_dim), "hidden": [int(x) for x in d.hidden],
                  "likelihood": shape.likelihood, "dof": float(shape.dof)},
        "training": {
            "epochs": d.epochs,
            "batch_size": int(getattr(d, "batch_size_", None) or d.batch_size),
            "lr": float(d.lr),
            "beta": float(d.beta),
            "seed": int(d.seed),
            "val_fraction": float(d.val_fraction),
            "max_categories": int(d.max_categories),
            "strict": bool(d.strict),
            "trim": float(d.trim),
            "train_rows": int(d.n_train_rows_),
            "val_rows": int(d.n_val_rows_),
            "best_epoch": int(h.best_epoch),
            "best_val_loss": float(h.best_val_loss),
            "stopped_early": bool(h.stopped_early),
            "saved_epoch": int(h.saved_epoch),
            "history": [vars(r) for r in h.history],
        },
        "scoring": {
            "score": d.score_kind_,
            "samples": int(d.samples),
            "columns": d.preprocessor_.column_names,
            "baselines": [float(b) for b in d.baselines_],
            "contribution_mean": None if stats is None else [float(v) for v in stats[0]],
            "contribution_std": None if stats is None else [float(v) for v in stats[1]],
        },
        "calibration": d.calibration_.to_dict() if d.calibration_ is not None else None,
        "calibration_history": list(getattr(d, "calibration_history_", [])),
        # Per address column, each host's calibration rows and those flagged: its own rate (hosts.baseline_counts).
        "host_baselines": getattr(d, "host_baselines_", None) or {},
    }


def _tensors(d: "Detector") -> dict[str, np.ndarray]:
    out = {f"model.{k}": v for k, v in _weights(d).items()}
    out["scoring.eps"] = d.eps_
    return out


def save(d: "Detector", path: str | Path, state: str = "trained") -> Path:
    if Path(path).exists():
        checkpoint.remove_stale_temp_files(path)
    return checkpoint.save(path, build(d, state), _tensors(d))


def to_bundle(d: "Detector") -> checkpoint.Bundle:
    return checkpoint.pack(build(d, "trained"), _tensors(d))[0]


def _host_baselines(raw) -> dict[str, dict[str, list[int]]]:
    """The manifest's host_baselines, checked: {column: {host: [rows, flagged]}} (none in a model saved before them)."""
    ok = isinstance(raw, dict) and all(
        isinstance(c, str) and isinstance(hosts, dict) and all(
            isinstance(h, str) and isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and x >= 0 for x in v) and v[1] <= v[0]
            for h, v in hosts.items())
        for c, hosts in raw.items())
    if not ok:
        raise CheckpointError("the manifest's host_baselines is not a table of hosts' rows and flagged rows; the model folder is corrupt")
    return raw


def load(cls, path: str | Path, device: str = "cpu") -> "Detector":
    manifest = checkpoint.read_manifest(path)
    return _from_checked(cls, manifest, lambda: checkpoint.read_weights(path, manifest), str(path), device)


def from_bundle(cls, bundle: checkpoint.Bundle, device: str = "cpu", where: str = "model bundle") -> "Detector":
    manifest = checkpoint.parse_manifest(bundle.manifest, where)
    return _from_checked(cls, manifest, lambda: checkpoint.parse_weights(bundle.weights, manifest, where), where, device)


def _from_checked(cls, manifest: dict, read_tensors, where: str, device: str) -> "Detector":
    from .detector import resolve_device

    if manifest["state"] != "trained":
        raise CheckpointError(f"the model in '{where}' did not finish training (fit was interrupted); run `vaeguard fit` again")
    try:
        d, shape = _detector(cls, manifest)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise CheckpointError(f"the manifest in '{where}' is malformed ({type(e).__name__}: {e}); retrain with `vaeguard fit`") from None
    weights = checked_weights(d, shape, read_tensors(), where)
    d.eps_ = weights.pop("scoring.eps")
    d.network_ = ScoringNetwork(shape, {k[len("model."):]: v for k, v in weights.items()})
    # The torch model is built from these weights only when something needs it (explain, sample, export, a GPU).
    d.device_ = resolve_device(device)
    return d


def _detector(cls, m: dict) -> tuple["Detector", NetworkShape]:
    t, s, mdl = m["training"], m["scoring"], m["model"]
    cal = m["calibration"]
    if cal is None:
        raise CheckpointError("the manifest has no calibration; run `vaeguard fit` again")
    d = cls(
        model=str(mdl["variant"]), latent_dim=int(mdl["latent_dim"]), hidden=tuple(int(h) for h in mdl["hidden"]),
        epochs=t["epochs"], batch_size=int(t["batch_size"]), lr=float(t["lr"]), beta=float(t["beta"]),
        score=str(s["score"]), samples=int(s["samples"]), val_fraction=float(t["val_fraction"]),
        max_categories=int(t["max_categories"]), seed=int(t["seed"]), strict=bool(t["strict"]), trim=float(t["trim"]),
    )
    d.score_kind_ = d._check_params()
    d.schema_ = [ColumnSpec(str(c["name"]), str(c["role"]), str(c["reason"]), str(c.get("transform", ""))) for c in m["schema"]]
    d.preprocessor_ = pre = Preprocessor.from_dict(m["preprocessing"])
    names = pre.column_names
    if names != [str(c) for c in s["columns"]]:
        raise CheckpointError("the manifest's preprocessing and scoring columns disagree; the model folder is corrupt")
    d.baselines_ = _vector(s["baselines"], len(names), "score baselines")
    d.contribution_stats_ = None
    if s.get("contribution_mean") is not None:
        d.contribution_stats_ = (_vector(s["contribution_mean"], len(names), "contribution means"),
                                 _vector(s["contribution_std"], len(names), "contribution spreads"))
    d.calibration_ = Calibration.from_dict(cal)
    history = m.get("calibration_history", [])
    if not isinstance(history, list):
        raise CheckpointError("the manifest's calibration_history is not a list; the model folder is corrupt")
    d.calibration_history_ = history
    d.host_baselines_ = _host_baselines(m.get("host_baselines", {}))
    d.created_ = m.get("created")
    d.feature_names_in_ = np.asarray(m.get("feature_names_in", []), dtype=object)
    d.n_features_in_ = len(d.feature_names_in_)
    given = m.get("given_names")
    if given is not None and not (isinstance(given, list) and given and all(isinstance(n, str) for n in given)):
        raise CheckpointError("the manifest's given_names is not a list of column names; the model folder is corrupt")
    d.given_names_ = given
    events = m.get("events")
    if events is not None and not (isinstance(events, list) and events and all(isinstance(e, str) for e in events)):
        raise CheckpointError("the manifest's events is not a list of event types; the model folder is corrupt")
    d.events_ = events
    d.n_train_rows_, d.n_val_rows_ = int(t["train_rows"]), int(t["val_rows"])
    d.history_ = TrainResult(
        [EpochRecord(**r) for r in t["history"]], int(t["best_epoch"]),
        float(t["best_val_loss"]) if t["best_val_loss"] is not None else float("inf"), bool(t["stopped_early"]),
    )
    shape = NetworkShape(len(pre.numeric), tuple(pre.missing_flag_index), tuple(pre.vocab_sizes), d.latent_dim, tuple(d.hidden), d.model,
                         str(mdl["likelihood"]), float(mdl["dof"]))
    return d, shape


def _vector(values, n: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise CheckpointError(f"the manifest's {what} do not match its columns; the model folder is corrupt")
    return arr


def checked_weights(d: "Detector", shape: NetworkShape, loaded: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """Saved tensors checked against the network the manifest describes: names, shapes, dtypes, finite."""
    expected = {f"model.{k}": v for k, v in shape.weights().items()}
    expected["scoring.eps"] = ((int(d.samples), int(d.latent_dim)), "float32")
    checkpoint.check_weights(expected, loaded, where)
    return loaded


def _as_json(obj):
    import json

    return json.loads(json.dumps(checkpoint.jsonable(obj)))


def restore_training(d: "Detector", folder: str | Path) -> TrainResult:
    """Load the weights and history an interrupted fit saved, after checking they fit this model."""
    manifest = checkpoint.read_manifest(folder)
    if manifest["state"] != "training":
        raise CheckpointError(f"'{folder}' holds a finished model, not an interrupted fit; run fit without --resume")
    if manifest["preprocessing"] != _as_json(d.preprocessor_.to_dict()) or manifest["model"] != _as_json(build(d, "training")["model"]):
        raise CheckpointError(
            f"the interrupted fit in '{folder}' used other data or options; rerun it with the same ones, or fit without --resume"
        )
    import torch

    # The scoring draws come from the seed again (d.eps_); only their shape is checked here.
    weights = checked_weights(d, d.model_.network_shape, checkpoint.read_weights(folder, manifest), str(folder))
    d.model_.load_state_dict({k[len("model."):]: torch.from_numpy(v) for k, v in weights.items() if k.startswith("model.")})
    t = manifest["training"]
    try:
        saved = int(t.get("saved_epoch") or t["best_epoch"])
        records = [EpochRecord(**r) for r in t["history"]][:saved]
        best = float(t["best_val_loss"]) if t["best_val_loss"] is not None else float("inf")
        return TrainResult(records, int(t["best_epoch"]), best, False, saved)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the interrupted fit in '{folder}' has a malformed history ({e}); fit without --resume") from None
