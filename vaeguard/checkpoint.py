"""A model directory: weights in safetensors plus one human-readable JSON manifest.

No pickle anywhere, so loading never executes code. The manifest records the weights' SHA-256 and is
checked before any tensor is parsed. Saving writes a new, content-named weights file first and then
swaps the manifest atomically, so a crash at any moment leaves a consistent checkpoint (old or new).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .errors import CheckpointError
from .io import atomic_write_bytes

MANIFEST = "manifest.json"
FORMAT = "vaeguard-checkpoint"
FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

# Top-level manifest keys and the JSON types they must hold.
REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "vaeguard_version": str,
    "state": str,
    "weights_file": str,
    "weights_sha256": str,
    "schema": list,
    "preprocessing": dict,
    "model": dict,
    "training": dict,
    "scoring": dict,
    "calibration": (dict, type(None)),
}


def save(directory: str | Path, manifest: dict, state_dict: dict[str, torch.Tensor]) -> Path:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    blob = st_save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()})
    digest = hashlib.sha256(blob).hexdigest()
    weights_name = f"weights-{digest[:16]}.safetensors"
    atomic_write_bytes(d / weights_name, blob)
    manifest = dict(manifest, format=FORMAT, format_version=FORMAT_VERSION, weights_file=weights_name, weights_sha256=digest)
    text = json.dumps(_jsonable(manifest), indent=1, allow_nan=False)
    atomic_write_bytes(d / MANIFEST, text.encode("utf-8"))
    # Only now is the old weights file unreferenced.
    for old in d.glob("weights-*.safetensors"):
        if old.name != weights_name:
            try:
                old.unlink()
            except OSError:
                pass
    return d


def _jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN/inf; an unset value reads back as null
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def read_manifest(directory: str | Path) -> dict:
    d = Path(directory)
    if not d.exists():
        raise CheckpointError(f"model folder '{d}' not found; train one with `vaeguard fit DATA --model {d}`")
    if not d.is_dir():
        raise CheckpointError(f"'{d}' is a file; --model takes the folder that `vaeguard fit` wrote")
    path = d / MANIFEST
    if not path.exists():
        raise CheckpointError(f"'{d}' has no {MANIFEST}: it is not a vaeguard model folder (or fit was interrupted before the first save)")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise CheckpointError(f"'{path}' is implausibly large; the model folder is corrupt")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"'{path}' is not valid JSON ({e}); the model folder is corrupt, retrain with `vaeguard fit`") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"'{path}' is not a vaeguard manifest (expected a JSON object)")
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not a vaeguard manifest (format is {manifest.get('format')!r})")
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"the model in '{d}' uses checkpoint format {version}, newer than this vaeguard reads ({FORMAT_VERSION}); "
            f"upgrade with `pip install -U vaeguard`"
        )
    for key, typ in REQUIRED_KEYS.items():
        if key not in manifest:
            raise CheckpointError(f"'{path}' lacks the key '{key}'; the model folder is corrupt, retrain with `vaeguard fit`")
        value = manifest[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise CheckpointError(f"'{path}': key '{key}' has the wrong type ({type(value).__name__}); the model folder is corrupt")
    if version < 1:
        raise CheckpointError(f"'{path}': format_version {version} is not valid")
    return manifest


def read_weights(directory: str | Path, manifest: dict) -> dict[str, torch.Tensor]:
    d = Path(directory)
    name = manifest["weights_file"]
    if not re.fullmatch(r"weights-[0-9a-f]{16}\.safetensors", name):
        raise CheckpointError(f"manifest names an unexpected weights file {name!r}; the model folder is corrupt")
    path = d / name
    if not path.exists():
        raise CheckpointError(f"weights file '{path}' is missing; the model folder is incomplete, retrain with `vaeguard fit`")
    blob = path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != manifest["weights_sha256"]:
        raise CheckpointError(f"weights file '{path}' fails its checksum (truncated or modified); retrain with `vaeguard fit`")
    try:
        return st_load(blob)
    except Exception as e:  # safetensors raises its own error type for malformed headers
        raise CheckpointError(f"weights file '{path}' is not a valid safetensors file ({e})") from None


def check_state_dict(expected: dict[str, torch.Tensor], loaded: dict[str, torch.Tensor], where: str) -> None:
    """Every tensor the model needs is present with the right shape and dtype, and nothing else."""
    missing = sorted(set(expected) - set(loaded))
    extra = sorted(set(loaded) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"weights in '{where}' do not match the manifest (missing: {missing[:5]}, unexpected: {extra[:5]}); "
            f"the model folder is corrupt"
        )
    for k, v in expected.items():
        got = loaded[k]
        if tuple(got.shape) != tuple(v.shape) or got.dtype != v.dtype:
            raise CheckpointError(
                f"weights in '{where}': tensor '{k}' has shape {tuple(got.shape)} {got.dtype}, "
                f"the manifest implies {tuple(v.shape)} {v.dtype}; the model folder is corrupt"
            )
        if got.is_floating_point() and not torch.isfinite(got).all():
            raise CheckpointError(f"weights in '{where}': tensor '{k}' holds NaN or infinite values; retrain the model")


def remove_stale_temp_files(directory: str | Path) -> None:
    """Temp files from a killed save are harmless but untidy; clear them on the next save."""
    for p in Path(directory).glob(".*.tmp"):
        try:
            os.unlink(p)
        except OSError:
            pass
