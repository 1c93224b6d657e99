"""Regenerate the small flow tables in sample_data/ (deterministic): python sample_data/make_sample.py

flows_train.csv  2,000 normal connections (what `vaeguard fit` learns from)
flows_new.csv    1,000 connections, 20 of them attacks, with a `label` column for checking the flags
"""

from pathlib import Path

import numpy as np
import pandas as pd

SERVICES = {"http": 0.38, "https": 0.30, "dns": 0.17, "ssh": 0.06, "smtp": 0.05, "ftp": 0.04}
PROTO = {"http": "tcp", "https": "tcp", "dns": "udp", "ssh": "tcp", "smtp": "tcp", "ftp": "tcp"}


def normal_flows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    service = rng.choice(list(SERVICES), size=n, p=list(SERVICES.values()))
    proto = np.array([PROTO[s] for s in service])
    is_dns = service == "dns"
    packets = np.where(is_dns, rng.integers(1, 3, n), rng.poisson(12, n) + 3)
    # Bytes grow with packets; responses are larger than requests, with a heavy tail.
    src_bytes = np.round(packets * rng.lognormal(4.2, 0.5, n)).astype(int)
    dst_bytes = np.round(packets * rng.lognormal(6.0, 0.9, n) * np.where(is_dns, 0.1, 1.0)).astype(int)
    duration = np.round(np.where(is_dns, rng.exponential(0.02, n), rng.lognormal(0.0, 1.0, n)), 4)
    duration[rng.random(n) < 0.03] = np.nan  # the exporter sometimes drops durations
    flag = rng.choice(["SF", "S1", "RSTO", "REJ"], size=n, p=[0.93, 0.03, 0.03, 0.01])
    syn_count = np.where(proto == "tcp", 1 + rng.binomial(1, 0.05, n), 0)
    error_rate = np.round(np.clip(rng.beta(1, 40, n), 0, 1), 3)
    same_srv_rate = np.round(np.clip(rng.beta(30, 2, n), 0, 1), 3)
    return pd.DataFrame(
        {
            "proto": proto,
            "service": service,
            "flag": flag,
            "duration": duration,
            "src_bytes": src_bytes,
            "dst_bytes": dst_bytes,
            "packets": packets,
            "syn_count": syn_count,
            "error_rate": error_rate,
            "same_srv_rate": same_srv_rate,
        }
    )


def attacks(rng: np.random.Generator, n: int) -> pd.DataFrame:
    df = normal_flows(rng, n)
    kinds = np.arange(n) % 4
    scan = kinds == 0  # port scan: half-open connections, no payload, error-heavy
    df.loc[scan, ["proto", "service", "flag"]] = ["tcp", "http", "S0"]
    df.loc[scan, ["src_bytes", "dst_bytes", "packets", "syn_count"]] = [0, 0, 1, 1]
    df.loc[scan, "error_rate"] = 0.9
    df.loc[scan, "same_srv_rate"] = 0.02
    exfil = kinds == 1  # exfiltration: enormous upload over https
    df.loc[exfil, "src_bytes"] = (rng.lognormal(17, 0.5, exfil.sum())).astype(int)
    df.loc[exfil, "duration"] = rng.lognormal(6, 0.3, exfil.sum()).round(2)
    odd = kinds == 2  # a service never seen in normal traffic
    df.loc[odd, "service"] = "irc"
    dns_tunnel = kinds == 3  # DNS with payloads far too large
    df.loc[dns_tunnel, ["proto", "service"]] = ["udp", "dns"]
    df.loc[dns_tunnel, "dst_bytes"] = rng.integers(40_000, 90_000, dns_tunnel.sum())
    df.loc[dns_tunnel, "packets"] = rng.integers(40, 80, dns_tunnel.sum())
    return df


def with_ids(df: pd.DataFrame, start: int, t0: pd.Timestamp) -> pd.DataFrame:
    n = len(df)
    ids = pd.DataFrame(
        {
            "flow_id": [f"f{start + i:07d}" for i in range(n)],
            "start_time": (t0 + pd.to_timedelta(np.arange(n) * 1.7, unit="s")).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        }
    )
    return pd.concat([ids, df.reset_index(drop=True)], axis=1)


def main() -> None:
    rng = np.random.default_rng(7)
    here = Path(__file__).parent
    train = with_ids(normal_flows(rng, 2000), 0, pd.Timestamp("2026-11-01"))
    train.to_csv(here / "flows_train.csv", index=False)
    new = pd.concat([normal_flows(rng, 980).assign(label="normal"), attacks(rng, 20).assign(label="attack")])
    new = new.sample(frac=1.0, random_state=1).reset_index(drop=True)
    with_ids(new, 2000, pd.Timestamp("2026-11-02")).to_csv(here / "flows_new.csv", index=False)


if __name__ == "__main__":
    main()
