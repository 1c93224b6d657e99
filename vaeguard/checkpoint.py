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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .errors import CheckpointError
from .io import atomic_write_bytes

MANIFEST = "manifest.json"
FORMAT = "vaeguard-checkpoint"
# 2: per-column fixed terms (unseen categories, constant checks, missingness) and flow-aware roles.
# 3: a numeric column's range_tail (counts charged past the training range). A vaeguard that reads 2 at
# most then says a format 3 model is newer, where the key had read as a corrupt manifest to it.
FORMAT_VERSION = 3
OLDEST_FORMAT_READ = 2  # format 2 models are read as they were written: nothing charged past the range
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


@dataclass(frozen=True)
class Bundle:
    """A whole checkpoint in memory: the manifest's JSON text and the safetensors bytes.

    This is what travels to Dask and Spark workers (a few hundred KB, no shared file system needed);
    each worker validates it exactly as `read_manifest` and `read_weights` validate a folder.
    """

    manifest: bytes
    weights: bytes

    @property
    def key(self) -> str:
        # The manifest names the weights' SHA-256, so its own hash identifies the whole checkpoint.
        return hashlib.sha256(self.manifest).hexdigest()


def pack(manifest: dict, arrays: dict[str, np.ndarray]) -> tuple[Bundle, str]:
    """Serialise a checkpoint; returns the bundle and the content-derived weights file name."""
    blob = st_save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    digest = hashlib.sha256(blob).hexdigest()
    weights_name = f"weights-{digest[:16]}.safetensors"
    manifest = dict(manifest, format=FORMAT, format_version=FORMAT_VERSION, weights_file=weights_name, weights_sha256=digest)
    return Bundle(manifest_text(manifest).encode("utf-8"), blob), weights_name


LONG_LIST = 16  # a list of more numbers than this is written on one line of the manifest


def manifest_text(manifest: dict) -> str:
    """The manifest as indented JSON, each long list of numbers on one line. json's indented writer is pure
    Python, and it wrote each of a 1M-row fit's 100,000 calibration scores on a line of its own: 0.24 s
    and 2.3 MB, where its C writer puts them on one line in 0.09 s and 2.0 MB (and the manifest reads as
    a page of settings, not 100,000 lines of numbers). The same JSON values either way."""
    lists: dict[str, list] = {}
    mark = "@vaeguard-numbers-"

    def one_line(obj):
        if isinstance(obj, dict):
            return {k: one_line(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            if len(obj) > LONG_LIST and all(type(v) in (int, float) and math.isfinite(v) for v in obj):
                key = f"{mark}{len(lists)}@"
                lists[key] = list(obj)
                return key
            return [one_line(v) for v in obj]
        return obj

    text = json.dumps(jsonable(one_line(manifest)), indent=1, allow_nan=False)
    if any(text.count(json.dumps(key)) != 1 for key in lists):  # a value spelled like a mark: write it plainly
        return json.dumps(jsonable(manifest), indent=1, allow_nan=False)
    for key, values in lists.items():
        text = text.replace(json.dumps(key), json.dumps(values, allow_nan=False), 1)
    return text


def check_not_foreign(d: Path) -> None:
    """Refuse a folder whose manifest.json some other program wrote: saving a model there replaces it.
    A vaeguard manifest names its format; a damaged one is known by the weights file beside it."""
    path = d / MANIFEST
    try:
        foreign = path.is_file() and FORMAT.encode() not in path.read_bytes()[:MAX_MANIFEST_BYTES] and not any(d.glob("weights-*.safetensors"))
    except OSError:
        return  # unreadable: writing there fails with its own message
    if foreign:
        raise CheckpointError(f"'{d}' holds a {MANIFEST} that vaeguard did not write, and saving a model there would replace it; "
                              f"give --model a folder of its own (fit writes {MANIFEST} and weights-*.safetensors there)")


def save(directory: str | Path, manifest: dict, arrays: dict[str, np.ndarray]) -> Path:
    d = Path(directory)
    check_not_foreign(d)
    d.mkdir(parents=True, exist_ok=True)
    bundle, weights_name = pack(manifest, arrays)
    atomic_write_bytes(d / weights_name, bundle.weights)
    atomic_write_bytes(d / MANIFEST, bundle.manifest)
    # Only now is the old weights file unreferenced.
    for old in d.glob("weights-*.safetensors"):
        if old.name != weights_name:
            try:
                old.unlink()
            except OSError:
                pass
    return d


def jsonable(obj):
    """`obj` with NaN and infinities as None: JSON has neither (Python writes NaN and Infinity, which jq
    1.5 and strict parsers refuse); an unset value reads back as null."""
    if isinstance(obj, (float, np.floating)) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def read_manifest(directory: str | Path) -> dict:
    path = _manifest_path(Path(directory))
    return parse_manifest(path.read_bytes(), str(path), str(directory))


def _manifest_path(d: Path) -> Path:
    if not d.exists():
        raise CheckpointError(f"model folder '{d}' not found; train one with `vaeguard fit DATA --model {d}`")
    if not d.is_dir():
        raise CheckpointError(f"'{d}' is a file; --model takes the folder that `vaeguard fit` wrote")
    path = d / MANIFEST
    if not path.exists():
        raise CheckpointError(f"'{d}' has no {MANIFEST}: it is not a vaeguard model folder (or fit was interrupted before the first save)")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise CheckpointError(f"'{path}' is implausibly large; the model folder is corrupt")
    return path


def _weights_path(d: Path, manifest: dict) -> Path:
    name = manifest["weights_file"]
    if not re.fullmatch(r"weights-[0-9a-f]{16}\.safetensors", name):
        raise CheckpointError(f"manifest names an unexpected weights file {name!r}; the model folder is corrupt")
    path = d / name
    if not path.exists():
        raise CheckpointError(f"weights file '{path}' is missing; the model folder is incomplete, retrain with `vaeguard fit`")
    return path


def parse_manifest(raw: bytes, where: str, folder: str | None = None) -> dict:
    """Validate a manifest's JSON text: format, version, and the type of every required key."""
    folder = folder or where
    if len(raw) > MAX_MANIFEST_BYTES:
        raise CheckpointError(f"'{where}' is implausibly large; the model folder is corrupt")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"'{where}' is not valid JSON ({e}); the model folder is corrupt, retrain with `vaeguard fit`") from None
    if not isinstance(manifest, dict):
        raise CheckpointError(f"'{where}' is not a vaeguard manifest (expected a JSON object)")
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"'{where}' is not a vaeguard manifest (format is {manifest.get('format')!r})")
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"the model in '{folder}' uses checkpoint format {version}, newer than this vaeguard reads ({FORMAT_VERSION}); "
            f"upgrade with `pip install -U vaeguard`"
        )
    for key, typ in REQUIRED_KEYS.items():
        if key not in manifest:
            raise CheckpointError(f"'{where}' lacks the key '{key}'; the model folder is corrupt, retrain with `vaeguard fit`")
        value = manifest[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise CheckpointError(f"'{where}': key '{key}' has the wrong type ({type(value).__name__}); the model folder is corrupt")
    if version < 1:
        raise CheckpointError(f"'{where}': format_version {version} is not valid")
    if version < OLDEST_FORMAT_READ:
        raise CheckpointError(
            f"the model in '{folder}' was written by an older vaeguard (checkpoint format {version}); "
            f"retrain it with `vaeguard fit` (this version scores with evidence the old one did not keep)"
        )
    return manifest


def read_weights(directory: str | Path, manifest: dict) -> dict[str, np.ndarray]:
    path = _weights_path(Path(directory), manifest)
    return parse_weights(path.read_bytes(), manifest, str(path))


def parse_weights(blob: bytes, manifest: dict, where: str) -> dict[str, np.ndarray]:
    """Check the weights against the manifest's SHA-256 before safetensors parses a single byte."""
    if hashlib.sha256(blob).hexdigest() != manifest["weights_sha256"]:
        raise CheckpointError(f"weights file '{where}' fails its checksum (truncated or modified); retrain with `vaeguard fit`")
    try:
        return st_load(blob)
    except Exception as e:  # safetensors raises its own error type for malformed headers
        raise CheckpointError(f"weights file '{where}' is not a valid safetensors file ({e})") from None


def read_bundle(directory: str | Path) -> Bundle:
    """A model folder's files in memory, checked (manifest valid, weights match their checksum)."""
    d = Path(directory)
    mpath = _manifest_path(d)
    raw = mpath.read_bytes()
    manifest = parse_manifest(raw, str(mpath), str(d))
    path = _weights_path(d, manifest)
    blob = path.read_bytes()
    parse_weights(blob, manifest, str(path))
    return Bundle(raw, blob)


def check_weights(expected: dict[str, tuple[tuple[int, ...], str]], loaded: dict[str, np.ndarray], where: str) -> None:
    """Every tensor the model needs (name: shape and dtype) is present as expected, and nothing else."""
    missing = sorted(set(expected) - set(loaded))
    extra = sorted(set(loaded) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"weights in '{where}' do not match the manifest (missing: {missing[:5]}, unexpected: {extra[:5]}); "
            f"the model folder is corrupt"
        )
    for k, (shape, dtype) in expected.items():
        got = loaded[k]
        if tuple(got.shape) != tuple(shape) or got.dtype != np.dtype(dtype):
            raise CheckpointError(
                f"weights in '{where}': tensor '{k}' has shape {tuple(got.shape)} {got.dtype}, "
                f"the manifest implies {tuple(shape)} {dtype}; the model folder is corrupt"
            )
        if got.dtype.kind == "f" and not np.isfinite(got).all():
            raise CheckpointError(f"weights in '{where}': tensor '{k}' holds NaN or infinite values; retrain the model")


def remove_stale_temp_files(directory: str | Path) -> None:
    """Temp files from a killed save are harmless but untidy; clear them on the next save."""
    for p in Path(directory).glob(".*.tmp"):
        try:
            os.unlink(p)
        except OSError:
            pass
