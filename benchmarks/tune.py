"""Compare candidate defaults for vaeguard on the quality benchmark's data (how the defaults were chosen).

    python benchmarks/tune.py                 # every candidate below, every data set
    python benchmarks/tune.py --only base steps1000

Same splits as benchmarks/quality.py; test parts are capped at 20,000 rows here to keep the sweep
short. Prints mean ROC-AUC and PR-AUC per candidate and the per-data-set ROC-AUC table.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402

TEST_CAP = 20_000

# name -> (VAEGuard keyword arguments, module constants to override as "module.NAME": value)
CANDIDATES: dict[str, tuple[dict, dict]] = {
    "iforest": ({}, {}),
    "base": ({}, {}),  # the current defaults
    "steps1000": ({}, {"train.TARGET_STEPS": 1000}),
    "steps10000": ({}, {"train.TARGET_STEPS": 10000}),
    "standard-scale": ({}, {"encode.SCALING": "standard"}),
    "fixed-var": ({}, {"model.NUM_LOGVAR_MIN": 0.0, "model.NUM_LOGVAR_MAX": 0.0}),
    "var-floor-0.1": ({}, {"model.NUM_LOGVAR_MIN": float(np.log(0.1))}),
    "latent4": ({"latent_dim": 4}, {}),
    "latent16": ({"latent_dim": 16}, {}),
    "hidden128-64": ({"hidden": (128, 64)}, {}),
    "hidden32": ({"hidden": (32,)}, {}),
    "beta0.5": ({"beta": 0.5}, {}),
    "beta2": ({"beta": 2.0}, {}),
    "batch1024": ({"batch_size": 1024}, {}),
    "no-int-categories": ({}, {"schema.MAX_INT_CATEGORIES": 0}),
    "recon": ({"score": "recon"}, {}),
    "samples4": ({"samples": 4}, {}),
    "samples1": ({"samples": 1}, {}),
    "iqr-scale": ({}, {"encode.SCALING": "iqr"}),
    "no-log": ({}, {"encode.SKEW_FOR_LOG": 1e9}),
    "trim0.1": ({"trim": 0.1}, {}),
    "lr3e-3": ({"lr": 3e-3}, {}),
    "lr3e-4": ({"lr": 3e-4}, {}),
    "lr1e-4": ({"lr": 1e-4}, {}),
    "lr5e-4": ({"lr": 5e-4}, {}),
    "std+trim0.05": ({"trim": 0.05}, {"encode.SCALING": "standard"}),
    "std+trim0.1": ({"trim": 0.1}, {"encode.SCALING": "standard"}),
    "std+beta2": ({"beta": 2.0}, {"encode.SCALING": "standard"}),
    "std+latent4": ({"latent_dim": 4}, {"encode.SCALING": "standard"}),
    "std+recon": ({"score": "recon"}, {"encode.SCALING": "standard"}),
    "std+batch1024": ({"batch_size": 1024}, {"encode.SCALING": "standard"}),
    "std+steps1000": ({}, {"encode.SCALING": "standard", "train.TARGET_STEPS": 1000}),
    "std+fixed-var": ({}, {"encode.SCALING": "standard", "model.NUM_LOGVAR_MIN": 0.0, "model.NUM_LOGVAR_MAX": 0.0}),
    "std+steps1000+fixed-var": ({}, {"encode.SCALING": "standard", "train.TARGET_STEPS": 1000,
                                     "model.NUM_LOGVAR_MIN": 0.0, "model.NUM_LOGVAR_MAX": 0.0}),
}


def run_one(task):
    name, dataset, params, overrides = task
    import importlib

    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    torch.set_num_threads(1)
    for key, value in overrides.items():
        module, attr = key.rsplit(".", 1)
        setattr(importlib.import_module(f"vaeguard.{module}"), attr, value)
    train, _, test, yte = quality.load(dataset)
    if len(test) > TEST_CAP:
        idx = np.random.default_rng(0).choice(len(test), TEST_CAP, replace=False)
        test, yte = test.iloc[np.sort(idx)].reset_index(drop=True), yte[np.sort(idx)]
    t0 = time.perf_counter()
    method = quality.iforest if name == "iforest" else quality.vaeguard_method(**params)
    scores = method(train, test, 0)
    return name, dataset, roc_auc_score(yte, scores), average_precision_score(yte, scores), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="candidates to run")
    ap.add_argument("--datasets", nargs="*")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    names = args.only or list(CANDIDATES)
    tasks = [(n, d, *CANDIDATES[n]) for d in quality.datasets(args.datasets) for n in names]
    rows = []
    # A fresh process per task, so module-level overrides never leak between candidates.
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        for r in pool.imap_unordered(run_one, tasks):
            rows.append(r)
            print(f"  {r[0]:18s} {r[1]:22s} ROC {r[2]:.3f} PR {r[3]:.3f} {r[4]:5.1f}s", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows, columns=["candidate", "dataset", "roc", "pr", "seconds"])
    table = df.pivot(index="dataset", columns="candidate", values="roc").reindex(columns=names)
    print(table.round(3).to_string())
    summary = df.groupby("candidate")[["roc", "pr", "seconds"]].mean().reindex(names)
    summary["rank"] = table.rank(axis=1, ascending=False).mean()
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
