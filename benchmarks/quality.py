"""Detection quality: vaeguard against its peers on the same splits, in one run.

    python benchmarks/quality.py            # full table -> benchmarks/results/quality.md
    python benchmarks/quality.py --quick    # a few data sets, a few minutes
    python benchmarks/quality.py --split 1 --out /tmp/quality-split1.md   # the same protocol on another split

Protocol (../shared/README.md): for each ADBench data set, a stratified 70/30 split with seed 0 (--split); fit
without labels on the 70% (capped at 10,000 rows by random subsample; it contains anomalies, as real
data does); ROC-AUC and PR-AUC on the 30%. NSL-KDD: the same split of train_20pct.csv, fit on the
normal rows of the 70% part, evaluate on the 30% part (attacks = positive).

vaeguard runs through VAEGuard.fit and score_frame, the code path the CLI uses. The peers get the
numeric matrix (NSL-KDD's three categorical columns one-hot encoded) with their default settings.
Needs the bench extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
TRAIN_CAP = 10_000
SEED = 0
QUICK = ["nslkdd", "29_Pima", "47_yeast", "23_mammography", "19_landsat", "7_Cardiotocography", "31_satimage-2"]
NSL_CATEGORICAL = ["protocol_type", "service", "flag"]


# ---- data ------------------------------------------------------------------------------------------
def load_adbench(path: Path, split: int = SEED) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    with np.load(path, allow_pickle=False) as d:
        X, y = d["X"].astype(np.float64), d["y"].astype(int)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=split)
    if len(Xtr) > TRAIN_CAP:
        idx = np.random.default_rng(split).choice(len(Xtr), TRAIN_CAP, replace=False)
        Xtr, ytr = Xtr[np.sort(idx)], ytr[np.sort(idx)]
    cols = [f"f{i}" for i in range(X.shape[1])]
    return pd.DataFrame(Xtr, columns=cols), ytr, pd.DataFrame(Xte, columns=cols), yte


def load_nslkdd(split: int = SEED) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    df = pd.read_csv(SHARED / "nslkdd" / "train_20pct.csv")
    y = (df.pop("label") != "normal").astype(int).to_numpy()
    df = df.drop(columns=["difficulty"])
    tr, te = train_test_split(np.arange(len(df)), test_size=0.3, stratify=y, random_state=split)
    tr = tr[y[tr] == 0]  # fit on normal rows only
    return df.iloc[np.sort(tr)].reset_index(drop=True), y[np.sort(tr)], df.iloc[te].reset_index(drop=True), y[te]


def half_sets(half: str) -> set[str]:
    """ADBench sets of half A (1st, 3rd, ... file name sorted as strings) or half B (the rest)."""
    names = sorted(p.stem for p in (SHARED / "adbench").glob("*.npz"))
    return set(names[0::2] if half == "A" else names[1::2])


def datasets(names: list[str] | None) -> list[str]:
    found = ["nslkdd"] if (SHARED / "nslkdd" / "train_20pct.csv").exists() else []
    found += sorted((p.stem for p in (SHARED / "adbench").glob("*.npz")), key=lambda s: int(s.split("_")[0]))
    if names:
        found = [n for n in found if n in names]
    return found


def load(name: str, split: int = SEED):
    return load_nslkdd(split) if name == "nslkdd" else load_adbench(SHARED / "adbench" / f"{name}.npz", split)


def numeric_matrix(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What the peers get: categoricals one-hot encoded on the training vocabulary."""
    cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    if not cats:
        return train.to_numpy(np.float64), test.to_numpy(np.float64)
    both = pd.get_dummies(pd.concat([train, test]), columns=cats, dtype=float)
    return both.iloc[: len(train)].to_numpy(np.float64), both.iloc[len(train):].to_numpy(np.float64)


# ---- methods ---------------------------------------------------------------------------------------
def vaeguard_method(**params):
    def run(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
        from vaeguard import VAEGuard, score_frame

        guard = VAEGuard(seed=seed, device="cpu", **params).fit(train)
        return score_frame(guard, test)["anomaly_score"].to_numpy()

    return run


def pyod_detector(cls_path: str, seed: int, **params):
    """An unfitted PyOD detector with its defaults; the neural ones quiet and seeded."""
    module, name = cls_path.rsplit(".", 1)
    cls = getattr(__import__(module, fromlist=[name]), name)
    kwargs = dict(params)
    if name in ("VAE", "AutoEncoder"):
        kwargs.setdefault("verbose", 0)
        kwargs.setdefault("random_state", seed)
    return cls(**kwargs)


def pyod_method(cls_path: str, **params):
    def run(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
        Xtr, Xte = numeric_matrix(train, test)
        return pyod_detector(cls_path, seed, **params).fit(Xtr).decision_function(Xte)

    return run


def iforest(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    from sklearn.ensemble import IsolationForest

    Xtr, Xte = numeric_matrix(train, test)
    return -IsolationForest(random_state=seed).fit(Xtr).score_samples(Xte)


METHODS = {
    "vaeguard": vaeguard_method(),
    "vaeguard-recon": vaeguard_method(score="recon"),
    "vaeguard-ae": vaeguard_method(model="ae"),
    "vaeguard-dae": vaeguard_method(model="dae"),
    "vaeguard-sparse-ae": vaeguard_method(model="sparse-ae"),
    "pyod-VAE": pyod_method("pyod.models.vae.VAE"),
    "pyod-AutoEncoder": pyod_method("pyod.models.auto_encoder.AutoEncoder"),
    "IsolationForest": iforest,
    "pyod-ECOD": pyod_method("pyod.models.ecod.ECOD"),
}
PEERS = ["pyod-VAE", "pyod-AutoEncoder", "IsolationForest", "pyod-ECOD"]


# ---- running and reporting -------------------------------------------------------------------------
def evaluate(name: str, methods: list[str], seed: int, split: int = SEED) -> list[dict]:
    train, _, test, yte = load(name, split)
    rows = []
    for m in methods:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = METHODS[m](train, test, seed)
            ok = np.isfinite(scores).all()
            roc = roc_auc_score(yte, scores) if ok else float("nan")
            pr = average_precision_score(yte, scores) if ok else float("nan")
            err = "" if ok else "non-finite scores"
        except Exception as e:  # a peer failing on one data set must not sink the table
            roc = pr = float("nan")
            err = f"{type(e).__name__}: {e}"[:120]
        rows.append({"dataset": name, "method": m, "roc_auc": roc, "pr_auc": pr,
                     "fit_s": time.perf_counter() - t0, "train_rows": len(train), "test_rows": len(test),
                     "features": train.shape[1], "error": err})
        print(f"  {name:22s} {m:20s} ROC {roc:.3f}  PR {pr:.3f}  {rows[-1]['fit_s']:6.1f}s {err}", file=sys.stderr, flush=True)
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, {platform.system()}"


def report(results: pd.DataFrame, methods: list[str], title: str, elapsed: float, split: int = SEED) -> str:
    roc = results.pivot(index="dataset", columns="method", values="roc_auc").reindex(columns=methods)
    pr = results.pivot(index="dataset", columns="method", values="pr_auc").reindex(columns=methods)
    fit_s = results.pivot(index="dataset", columns="method", values="fit_s").reindex(columns=methods)
    order = list(dict.fromkeys(results["dataset"]))
    roc, pr, fit_s = roc.loc[order], pr.loc[order], fit_s.loc[order]
    lines = [f"# {title}", "", f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {machine()}; "
             f"{elapsed / 60:.1f} minutes in all.", "",
             f"Protocol: stratified 70/30 split (seed {split}), fit without labels on the 70% (capped at 10,000 rows), "
             "scored on the 30%. NSL-KDD: fit on the normal rows of the 70% part. Every method on the same splits "
             "in the same run; peers with their default settings.", ""]

    def table(frame: pd.DataFrame, fmt: str, caption: str, summary: bool) -> None:
        lines.extend([f"## {caption}", "", "| data set | " + " | ".join(methods) + " |",
                      "|---|" + "---|" * len(methods)])
        for ds, row in frame.iterrows():
            best = row.max()
            cells = []
            for m in methods:
                v = row[m]
                cell = "fail" if pd.isna(v) else format(v, fmt)
                cells.append(f"**{cell}**" if summary and not pd.isna(v) and v == best else cell)
            lines.append(f"| {ds} | " + " | ".join(cells) + " |")
        lines.append("")

    table(roc, ".3f", "ROC-AUC (30% test part)", True)
    table(pr, ".3f", "PR-AUC (average precision)", True)
    table(fit_s, ".1f", "Seconds (fit + score)", False)
    lines.extend(["## Summary", "", "| | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)])
    groups = [("all", list(roc.index))] + [(f"half {h}", [d for d in roc.index if d in half_sets(h)]) for h in "AB"]
    for label, names in groups:
        if not names:
            continue
        sub_ranks = roc.loc[names].rank(axis=1, ascending=False)
        lines.append(f"| mean ROC-AUC, {label} ({len(names)}) | " + " | ".join(f"{roc.loc[names, m].mean():.3f}" for m in methods) + " |")
        lines.append(f"| mean PR-AUC, {label} | " + " | ".join(f"{pr.loc[names, m].mean():.3f}" for m in methods) + " |")
        lines.append(f"| mean rank, {label} | " + " | ".join(f"{sub_ranks[m].mean():.2f}" for m in methods) + " |")
    lines.append("| total seconds | " + " | ".join(f"{fit_s[m].sum():.0f}" for m in methods) + " |")
    lines.append("")
    lines.append("Half A / half B: the 21 ADBench file names sorted as strings, odd positions in A, even in B "
                 "(defaults are chosen on A and confirmed on B); NSL-KDD is in neither half.")
    lines.append("")
    if "vaeguard" in methods:
        lines.extend(["## vaeguard (defaults) against each peer, ROC-AUC", "", "| peer | wins | losses | ties | mean difference |",
                      "|---|---|---|---|---|"])
        for p in [m for m in methods if m != "vaeguard"]:
            d = (roc["vaeguard"] - roc[p]).dropna()
            lines.append(f"| {p} | {(d > 0.0005).sum()} | {(d < -0.0005).sum()} | {(d.abs() <= 0.0005).sum()} | {d.mean():+.3f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--datasets", nargs="*", help="only these data sets (file stems, or nslkdd)")
    ap.add_argument("--half", choices=["A", "B"], help="only the ADBench sets of this half (and NSL-KDD)")
    ap.add_argument("--methods", nargs="*", default=list(METHODS), help="methods to run")
    ap.add_argument("--seed", type=int, default=SEED, help="the methods' random seed")
    ap.add_argument("--split", type=int, default=SEED, help="seed of the 70/30 split and of the 10,000-row training sample: "
                    "another split tells how much of a difference between methods is the split's")
    ap.add_argument("--out", type=Path, help="markdown output (default: benchmarks/results/quality[-quick].md)")
    args = ap.parse_args()
    if not SHARED.exists():
        sys.exit(f"benchmark data not found at {SHARED}")
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    names = datasets(QUICK if args.quick and not args.datasets else args.datasets)
    if args.half:
        names = [n for n in names if n == "nslkdd" or n in half_sets(args.half)]
    methods = [m for m in METHODS if m in args.methods]
    t0 = time.perf_counter()
    rows = []
    for name in names:
        rows.extend(evaluate(name, methods, args.seed, args.split))
    results = pd.DataFrame(rows)
    elapsed = time.perf_counter() - t0
    title = "Detection quality" + (" (quick subset)" if args.quick else "")
    text = report(results, methods, title, elapsed, args.split)
    out = args.out or RESULTS / ("quality-quick.md" if args.quick else "quality.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=float))
    print(text)


if __name__ == "__main__":
    main()
