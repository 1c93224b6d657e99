"""ONNX export of the scoring graph: preprocessed inputs -> per-row anomaly score and column contributions.

The graph holds the encoder, the decoder and the fixed importance-sampling draws, so onnxruntime gives
the same scores as torch without torch installed. Preprocessing (scaling, log transforms, vocabularies)
stays outside the graph; its parameters are plain JSON in the model folder's manifest.json.
"""

from __future__ import annotations

import copy
import io
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from . import __version__
from .errors import ConfigError, InputError
from .io import atomic_write_bytes, check_output_folder
from .scoring import fixed_terms, rare_cost, score_encoded

if TYPE_CHECKING:
    from .detector import Detector

INPUTS = ("x_num", "observed", "x_cat", "fixed")
OUTPUTS = ("anomaly_score", "contributions")
OPSET = 17
# onnxruntime and torch sum in different orders; float32 scores agree to about 1e-6 relative.
RTOL, ATOL = 1e-4, 1e-3


class _GatherSum(nn.Module):
    # EmbeddingBag(mode="sum") as gather + sum: the same numbers, and an op every ONNX runtime has.
    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.weight[idx].sum(dim=1)


class ScoreGraph(nn.Module):
    def __init__(self, guard: "Detector"):
        super().__init__()
        model = copy.deepcopy(guard.model_).cpu().eval()
        if model.enc_cat is not None:
            model.enc_cat = _GatherSum(model.enc_cat.weight)
        self.model = model
        self.kind = guard.score_kind_
        self.register_buffer("eps", torch.from_numpy(guard.eps_.copy()))
        cal = guard.calibration_
        self.threshold, self.floor, self.rare_cost = float(cal.threshold), float(cal.novelty_floor), rare_cost(cal.target)

    def forward(self, x_num, observed, x_cat, fixed):
        # `fixed` holds the per-column terms the network never sees (unseen categories, constant checks,
        # gaps where training had none): computed with the preprocessing, added here.
        s, c = self.model.score(x_num, observed, x_cat, kind=self.kind, eps=self.eps)
        pad = fixed.shape[1] - c.shape[1]
        if pad:
            c = torch.cat([c, torch.zeros(c.shape[0], pad, dtype=c.dtype)], dim=1)
        s, c = s + fixed.sum(dim=1), c + fixed
        if self.floor:
            # scoring.lift_rare_novelty: a rare novelty is a term that fixed_terms raised to the floor,
            # rarer than the calibrated rate; its row is flagged, however low the rest of it scores.
            rare = ((fixed >= self.floor) & (fixed > self.rare_cost)).to(s.dtype)
            n = rare.sum(dim=1)
            lift = torch.where((n > 0) & (s <= self.threshold), self.threshold + 1.0 - s, torch.zeros_like(s))
            s, c = s + lift, c + (lift / n.clamp(min=1.0)).unsqueeze(1) * rare
        return s, c


def _require_onnx():
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise ConfigError('ONNX export needs onnx and onnxruntime: pip install "vaeguard[onnx]"') from None
    return onnx, onnxruntime


def export_onnx(guard: "Detector", path: str | Path, check_rows: int = 512, seed: int = 0) -> dict:
    """Write the scoring graph to `path` (atomically) and check it against torch on generated rows.

    Returns what was checked: rows, the largest absolute and relative score differences.
    """
    onnx, ort = _require_onnx()
    guard._check_fitted()
    target = Path(path)
    check_output_folder(target)
    if target.is_dir():
        raise InputError(f"--onnx '{target}' is a folder; give a file name such as model.onnx")
    graph = ScoreGraph(guard).eval()
    pre = guard.preprocessor_
    example = pre.transform(guard.sample(max(2, check_rows), seed=seed))
    fixed = fixed_terms(guard, example).astype(np.float32)
    tensors = tuple(torch.from_numpy(a) for a in (example.x_num, example.observed, example.x_cat, fixed))
    buf = io.BytesIO()
    # The tracer warns about Python-side constants (K, log K) that are constants by design.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, tensors, buf, input_names=list(INPUTS), output_names=list(OUTPUTS), opset_version=OPSET,
            dynamic_axes={n: {0: "rows"} for n in INPUTS + OUTPUTS}, dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    meta = {
        "vaeguard_version": __version__,
        "score": guard.score_kind_,
        "threshold": repr(float(guard.calibration_.threshold)),
        "contribution_columns": json.dumps(pre.column_names),
        "inputs": "x_num: scaled numeric columns (float32, rows x numeric); observed: 1 where the numeric value "
        "was present (float32, same shape); x_cat: category codes (int64, rows x categorical); fixed: per-column "
        "terms outside the network (float32, rows x contribution_columns). "
        "The preprocessing parameters are in the model folder's manifest.json.",
    }
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    blob = proto.SerializeToString()

    # Check the exported graph against torch before anything is written.
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    feed_all = {"x_num": example.x_num, "observed": example.observed, "x_cat": example.x_cat, "fixed": fixed}
    feed = {i.name: feed_all[i.name] for i in session.get_inputs()}
    got = session.run([OUTPUTS[0]], feed)[0].astype(np.float64)
    want, _ = score_encoded(guard, example)
    diff = np.abs(got - want)
    rel = diff / np.maximum(np.abs(want), 1e-12)
    if not np.all(np.isfinite(got)) or not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        raise RuntimeError(f"the exported graph disagrees with torch (largest difference {diff.max():.3g}); please report this")
    atomic_write_bytes(Path(path), blob)
    return {"rows_checked": int(len(want)), "max_abs_diff": float(diff.max()), "max_rel_diff": float(rel.max())}
