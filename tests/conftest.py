"""Shared fixtures: small generated tables and one quickly trained model reused across tests."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vaeguard.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str, input: str | bytes | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_scored_alike(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The same rows scored in other chunks (another --chunk-size, a Dask partition, files read as one table):
    the same table but for float32 rounding. OpenBLAS's float32 matrix products round a row by its place in the
    block of rows multiplied on some CPUs (AMD Zen 3: the last digits of 1 value in 20 move with it), so scores
    may move in their 7th digit; a p-value then by one calibration rank, and a flag with it, only where the
    score is within that rounding of a calibration score (a row like a calibration row)."""
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    scored = ["anomaly_score", "p_value", "is_anomaly"]
    pd.testing.assert_frame_equal(got.drop(columns=scored), expected.drop(columns=scored))
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"], rtol=1e-5, atol=1e-5)
    p, q = got["p_value"].to_numpy(), expected["p_value"].to_numpy()
    step = min(p.min(), q.min())  # one calibration rank: the smallest p-value, 1 / (calibration rows + 1)
    moved = p != q
    assert np.abs(p - q).max() <= step * 1.001 and moved.mean() <= 0.01, (np.abs(p - q).max(), step, moved.sum())
    flipped = got["is_anomaly"].to_numpy() != expected["is_anomaly"].to_numpy()
    assert not (flipped & ~moved).any(), "a flag moved where the p-value did not"


def make_flows(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A small mixed table: heavy-tailed counts, a rate, categories, missing values and an id."""
    rng = np.random.default_rng(seed)
    proto = rng.choice(["tcp", "udp"], n, p=[0.8, 0.2])
    packets = rng.poisson(10, n) + 1
    df = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "proto": proto,
            "service": rng.choice(["http", "dns", "ssh"], n),
            "bytes": (packets * rng.lognormal(5, 1.5, n)).round().astype(int),
            "packets": packets,
            "duration": rng.exponential(1.0, n).round(3),
            "rate": rng.beta(2, 20, n).round(3),
        }
    )
    df.loc[rng.random(n) < 0.05, "duration"] = np.nan
    return df


def interrupt_fit_after(monkeypatch, epochs: int) -> None:
    """Make the next fit raise KeyboardInterrupt (Ctrl-C) after `epochs` epochs; monkeypatch.undo() ends it."""
    from vaeguard import train as train_mod

    real = train_mod.evaluate_loss
    calls = {"n": 0}

    def interrupted(*a, **k):
        calls["n"] += 1
        if calls["n"] > epochs:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "evaluate_loss", interrupted)
    monkeypatch.setattr(train_mod, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every epoch, to resume from


@pytest.fixture(scope="session")
def flows_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "flows.csv"
    make_flows().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, runner) -> Path:
    """A model trained on the sample flows with the default settings."""
    model = tmp_path_factory.mktemp("model") / "m"
    res = invoke(runner, "fit", SAMPLE / "flows_train.csv", "--model", model, "--quiet", "--seed", "1")
    assert res.exit_code == 0, res.output
    return model


@pytest.fixture
def model_copy(trained_model, tmp_path) -> Path:
    """A private copy that a test may damage."""
    dst = tmp_path / "model"
    shutil.copytree(trained_model, dst)
    return dst


def live_pipe(tmp_path: Path, first: bytes, rest: bytes | list[bytes], name: str = "live") -> tuple[Path, threading.Event, threading.Thread]:
    """A named pipe `tmp_path / name` written live: a thread writes `first` into it, waits (up to 20 s) for
    the returned event, then writes `rest` and closes the pipe; the event's `in_time` says whether it was
    set before the wait ran out. `rest` as a list: each part after a wait of its own (the event is cleared
    before each part is written, so the reader sets it once per part it has read). Skips the test where
    the system has no named pipes."""
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    fifo = tmp_path / name
    os.mkfifo(fifo)
    resume = threading.Event()
    resume.in_time = True

    def write():
        with open(fifo, "wb") as fh:
            fh.write(first)
            fh.flush()
            for part in rest if isinstance(rest, list) else [rest]:
                resume.in_time = resume.wait(20) and resume.in_time
                resume.clear()
                fh.write(part)
                fh.flush()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return fifo, resume, writer
