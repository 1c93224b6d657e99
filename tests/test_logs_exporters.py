"""Flow exporters' records: nfdump, SiLK, goflow2, pmacct, nProbe, AWS, Google Cloud and Azure flow logs,
Elasticsearch exports, Windows Firewall logs."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from vaeguard import VAEGuard
from vaeguard.errors import InputError
from vaeguard.schema import infer_schema
from vaeguard.sources import open_source, read_table

from .conftest import invoke, make_flows
from .logdata import (
    FIELDS, VPC_HEADER, assert_scored_as_home, conn_rows, fit_log, fortigate_log, gcp_flow_log, panos_log, vpc_flow_log,
    windows_firewall_log, zeek_text,
)


def rwcut_lines(n: int, padded: bool) -> str:
    """SiLK's `rwcut`: by default each field right-aligned to its column's width and each line closed by a
    '|'; `--delimited --no-final-delimiter` writes the same flows bare."""
    rng = np.random.default_rng(1)
    widths = [39, 39, 5, 5, 3, 10, 10, 8, 23, 9, 23, 6]
    rows = [["sIP", "dIP", "sPort", "dPort", "pro", "packets", "bytes", "flags", "sTime", "duration", "eTime", "sensor"]]
    for i in range(n):
        dns = rng.random() < 0.3
        pkts = int(rng.integers(1, 40))
        rows.append([f"10.0.{i % 4}.{rng.integers(2, 250)}", f"93.184.{rng.integers(256)}.{rng.integers(256)}",
                     str(rng.integers(1024, 65535)), "53" if dns else str(rng.choice([80, 443])), "17" if dns else "6", str(pkts),
                     str(pkts * int(rng.integers(40, 1500))), "" if dns else "FSPA", f"2024/05/0{1 + i % 3}T10:{i % 60:02d}:00.000",
                     f"{rng.random() * 20:.3f}", f"2024/05/0{1 + i % 3}T10:{i % 60:02d}:20.000", "S0"])
    if padded:
        return "".join("|".join(f.rjust(w) for f, w in zip(row, widths)) + "|\n" for row in rows)
    return "".join("|".join(row) + "\n" for row in rows)


def test_padded_columns_of_silk_rwcut_read_as_their_values(tmp_path, runner):
    # rwcut pads every field to line up its columns and closes each line with '|'. Read as written, the
    # addresses ('   10.0.1.7') were no addresses but categories of text, the names ('    sIP') none that
    # the roles know, and the closing '|' opened an always-empty column.
    padded, bare = tmp_path / "flows.rw.txt", tmp_path / "flows.txt"
    padded.write_text(rwcut_lines(400, padded=True))
    bare.write_text(rwcut_lines(400, padded=False))
    df, _ = read_table(open_source(str(padded)))
    assert list(df.columns) == ["sIP", "dIP", "sPort", "dPort", "pro", "packets", "bytes", "flags", "sTime", "duration", "eTime", "sensor"]
    assert df["sIP"].str.startswith("10.0.").all() and df["flags"].isin(["FSPA"]).sum() > 200 and df["flags"].isna().sum() > 50
    model = tmp_path / "m"
    res = invoke(runner, "fit", padded, "--model", model, "--epochs", "2")
    assert res.exit_code == 0 and "SiLK flow records (pipe-separated)" in res.stderr, res.output
    roles = {c["name"]: c["role"] for c in json.loads((model / "manifest.json").read_text())["schema"]}
    assert roles["sIP"] == roles["dIP"] == "ignored" and roles["dPort"] == "port" and roles["bytes"] == "numeric", roles
    assert "" not in roles and roles["sTime"] == "ignored", roles
    # The same flows written bare score as the padded ones do, and the scored file holds the values unpadded.
    for path, out in ((padded, tmp_path / "a.csv"), (bare, tmp_path / "b.csv")):
        res = invoke(runner, "score", path, "--model", model, "--out", out)
        assert res.exit_code == 0 and "unseen" not in res.stderr, res.output
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert list(a.columns) == list(b.columns) and a["sIP"].equals(b["sIP"])
    np.testing.assert_allclose(a["anomaly_score"], b["anomaly_score"], rtol=1e-5)


def test_a_model_fitted_on_padded_names_finds_them_read_bare(tmp_path, runner):
    # CICFlowMeter writes ' Flow Duration'; a model fitted while the space was kept (or on a frame that
    # holds it) still scores the CSV whose names are now read without it.
    df = make_flows(300).rename(columns={"bytes": " Total Bytes", "proto": " Protocol"})
    model = tmp_path / "m"
    VAEGuard(epochs=2, seed=0).fit(df).save(model)
    path, out = tmp_path / "cic.csv", tmp_path / "o.csv"
    df.to_csv(path, index=False)
    res = invoke(runner, "score", path, "--model", model, "--out", out)
    assert res.exit_code == 0, res.output
    assert "Total Bytes" in pd.read_csv(out).columns


def goflow2_text(n: int, day: int, seed: int) -> str:
    """goflow2's JSON lines (NetFlow, IPFIX and sFlow as the collector decodes them): times in epoch
    nanoseconds, the exporter's packet sequence number and interface indexes on every record."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        received = (1_700_000_000 + day * 86_400 + i // 4 * 5) * 10**9 + int(rng.integers(10**6))
        dns = rng.random() < 0.3
        pkts = int(rng.integers(1, 40))
        out.append(json.dumps({
            "type": "NETFLOW_V9", "time_received_ns": received, "sequence_num": 5_000 + day * 17_280 + i // 4,
            "sampling_rate": 0, "sampler_address": "10.9.0.1",
            "time_flow_start_ns": received - int(rng.integers(1, 60)) * 10**9, "time_flow_end_ns": received - int(rng.integers(0, 2)) * 10**9,
            "bytes": pkts * int(rng.integers(40, 1500)), "packets": pkts, "src_addr": f"10.0.0.{rng.integers(2, 60)}",
            "dst_addr": f"93.184.{rng.integers(256)}.{rng.integers(256)}", "etype": "IPv4", "proto": "UDP" if dns else "TCP",
            "src_port": int(rng.integers(1024, 65535)), "dst_port": 53 if dns else int(rng.choice([80, 443])),
            "in_if": int(rng.choice([3, 4])), "out_if": int(rng.choice([1, 2])), "tcp_flags": 0 if dns else 27,
            "src_as": 64512 + day, "dst_as": int(rng.choice([15169, 13335, 16509] if day else [15169, 13335]))}))
    return "\n".join(out) + "\n"


def test_goflow2_records_of_another_day_are_not_news(tmp_path, runner):
    # goflow2 stamps its records in epoch nanoseconds, beyond the seconds, milliseconds and microseconds
    # that were taken for times, and numbers the exporter's packets: as counts, another day's were all out
    # of range and the whole day was flagged. Its interface indexes name capture points, as a sensor does,
    # and its AS numbers networks, as an address names a host (another router's, or a new peer's, are no news).
    train, later = tmp_path / "day1.json", tmp_path / "day9.json"
    train.write_text(goflow2_text(1500, day=0, seed=0))
    later.write_text(goflow2_text(500, day=8, seed=1))
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--model", model)
    assert res.exit_code == 0 and "goflow2 flow records (JSON lines)" in res.stderr, res.output
    specs = {c["name"]: c for c in json.loads((model / "manifest.json").read_text())["schema"]}
    for name in ("time_received_ns", "time_flow_start_ns", "time_flow_end_ns"):
        assert specs[name]["role"] == "ignored" and "timestamp" in specs[name]["reason"], specs[name]
    assert specs["sequence_num"]["role"] == "ignored" and "sequence" in specs["sequence_num"]["reason"]
    assert specs["in_if"]["role"] == specs["out_if"]["role"] == specs["src_as"]["role"] == specs["dst_as"]["role"] == "ignored"
    assert specs["bytes"]["role"] == specs["packets"]["role"] == "numeric" and specs["dst_port"]["role"] == "port"
    res = invoke(runner, "score", later, "--model", model, "--out", tmp_path / "o.csv", "--json")
    summary = json.loads(res.stdout)
    assert res.exit_code == 0 and summary["flag_rate"] < 0.05 and not summary["drift"], summary
    hours = pd.to_datetime(pd.Series([1_700_000_000 * 10**9 + 3_600 * 10**9]), utc=True)
    from vaeguard.schema import as_datetimes
    assert as_datetimes(pd.Series([1_700_003_600 * 10**9])).equals(hours)


def pmacct_text(n: int, day: int, pid: int, seed: int) -> str:
    """pmacct's JSON lines (nfacctd, sfacctd): flow records as event_type "purge" between the markers its
    print or Kafka plugin writes at each purge; the plugin's name and process id in writer_id."""
    rng = np.random.default_rng(seed)
    writer = f"default_kafka/{pid}"
    out = [json.dumps({"event_type": "purge_init", "writer_id": writer, "seq": 1, "timestamp": f"2023-11-{day} 22:00:00"})]
    for i in range(n):
        dns = rng.random() < 0.3
        pkts = int(rng.integers(1, 40))
        t = f"2023-11-{day} 22:{i // 60 % 60:02d}:{i % 60:02d}"
        out.append(json.dumps({
            "event_type": "purge", "writer_id": writer, "peer_ip_src": "10.9.0.1", "iface_in": 3, "iface_out": int(rng.choice([4, 5])),
            "as_src": 0, "as_dst": int(rng.choice([15169, 13335])), "ip_src": f"10.0.0.{rng.integers(2, 60)}",
            "ip_dst": f"93.184.{rng.integers(256)}.{rng.integers(256)}", "port_src": int(rng.integers(1024, 65535)),
            "port_dst": 53 if dns else int(rng.choice([80, 443])), "ip_proto": "udp" if dns else "tcp",
            "timestamp_start": t + ".000000", "timestamp_end": t + ".500000", "stamp_inserted": f"2023-11-{day} 22:{i // 300 * 5:02d}:00",
            "packets": pkts, "bytes": pkts * int(rng.integers(40, 1500))}))
    out.append(json.dumps({"event_type": "purge_close", "writer_id": writer, "seq": 1, "purged_entries": n, "duration": 0}))
    return "\n".join(out) + "\n"


def test_pmacct_json_reads_its_purged_flows_and_another_days_are_not_news(tmp_path, runner):
    # pmacct names its flow records event_type "purge": taken for Suricata's events, none was a flow ("holds
    # no flow records"). Its ports were counts (port_src: the word before its end), and its writer_id, the
    # plugin's process id, a constant that changes with every restart.
    train, later = tmp_path / "day14.json", tmp_path / "day15.json"
    train.write_text(pmacct_text(1200, 14, pid=12345, seed=0))
    later.write_text(pmacct_text(400, 15, pid=23456, seed=1))
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 1200 and src.other_events == 2 and set(df["event_type"]) == {"purge"}
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--model", model)
    assert res.exit_code == 0 and "2 non-flow events left out" in res.stderr and "pmacct flow records" in res.stderr, res.output
    roles = {c["name"]: c["role"] for c in json.loads((model / "manifest.json").read_text())["schema"]}
    assert roles["port_src"] == roles["port_dst"] == "port" and roles["bytes"] == "numeric", roles
    assert roles["writer_id"] == roles["as_dst"] == roles["iface_out"] == roles["ip_src"] == roles["timestamp_start"] == "ignored", roles
    res = invoke(runner, "score", later, "--model", model, "--out", tmp_path / "o.csv", "--json")
    summary = json.loads(res.stdout)
    assert res.exit_code == 0 and summary["flag_rate"] < 0.05 and not summary["constants_changed"], summary
    assert len(pd.read_csv(tmp_path / "o.csv")) == 400


def test_flow_exporters_column_names():
    """Argus / CTU-13, nfdump and CICFlowMeter name and write their fields their own way: slashed and US
    dates, two-letter port names, camel case."""
    rng = np.random.default_rng(0)
    n = 300
    times = pd.Timestamp("2017-07-07 08:59") + pd.to_timedelta(np.sort(rng.uniform(0, 3600, n)), unit="s")
    df = pd.DataFrame({
        "StartTime": times.strftime("%Y/%m/%d %H:%M:%S.%f"),  # Argus
        " Timestamp": [f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}" for t in times],  # CICFlowMeter: 60 values
        "sp": rng.integers(1024, 65535, n), "dp": rng.choice([80, 443, 53], n),  # nfdump
        "svln": rng.choice([0, 10, 20], n),
        "DestinationPort": rng.choice([80, 443, 53], n), "TotBytes": rng.integers(0, 4, n),
        "version": rng.choice(["1.2.3", "1.10.2"], n),
        # Argus writes an ICMP flow's type and code in hex where the ports go (CTU-13's binetflow files):
        # a fifth of the rows here, which made the column id-like text, every client port a value.
        "Sport": [f"0x{int(rng.integers(0, 20)):04x}" if i % 5 == 0 else str(int(rng.integers(1024, 65535))) for i in range(n)],
        "SrcId": ["argus-sensor-1"] * n,  # the probe that saw the flows: another probe's are not news
        # NetFlow v9 (nProbe's names, the NF-* data sets): a DNS query's random 16-bit id, 0 in other flows, repeats
        # too often for an identifier by its distinct share, yet its size measures nothing; few ids name kinds.
        "DNS_QUERY_ID": np.where(rng.random(n) < 0.3, rng.integers(0, 65536, n), 0),
        "event_id": rng.choice([4624, 4625, 5156], n),
        # IPFIX as ipfixcol2 names it: the exporter's observation domain and process (another router's differ),
        # and why a flow ended, a code.
        "iana:observationDomainId": [0] * n, "iana:exportingProcessId": [1] * n, "iana:flowEndReason": rng.choice([1, 2, 3], n),
        # nProbe's JSON without --json-labels keys by field number: 22 is FIRST_SWITCHED, epoch seconds out of
        # order (flows are exported as they end); 1 is IN_BYTES, heavy-tailed counts.
        "22": 1_546_300_800 + rng.integers(0, 86_400, n), "1": rng.lognormal(8, 2, n).astype(int) + 40,
    })
    roles = {s.name: s.role for s in infer_schema(df)}
    assert roles == {"StartTime": "ignored", " Timestamp": "ignored", "sp": "port", "dp": "port", "svln": "ignored",
                     "DestinationPort": "port", "TotBytes": "numeric", "version": "categorical", "Sport": "port", "SrcId": "ignored",
                     "DNS_QUERY_ID": "ignored", "event_id": "categorical", "iana:observationDomainId": "ignored",
                     "iana:exportingProcessId": "ignored", "iana:flowEndReason": "categorical", "22": "ignored", "1": "numeric"}


def nprobe_json(n: int, seed: int, router: int = 2) -> str:
    """nProbe's JSON lines without --json-labels: keyed by IPFIX element numbers (8 and 12 the addresses,
    7 and 11 the ports, 1 and 2 bytes and packets, 22 and 21 the first and last packet's epoch seconds, 10
    and 14 the router's interfaces, 4 the protocol)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        dp = int(rng.choice([53, 443, 80]))
        size = int(rng.integers(40, 1500)) * int(rng.integers(1, 30))
        first = 1_764_547_200 + seed * 86_400 + i
        out.append(json.dumps({"8": f"10.0.{seed}.{rng.integers(2, 60)}", "12": f"93.184.{rng.integers(256)}.7",
                               "7": int(rng.integers(1024, 65535)), "11": dp, "4": 17 if dp == 53 else 6, "1": size, "2": size // 500 + 1,
                               "22": first, "21": first + int(rng.integers(0, 30)), "10": router, "14": router + 1}))
    return "\n".join(out) + "\n"


def test_nprobe_json_keyed_by_element_numbers_is_typed_by_them(tmp_path, runner):
    """nProbe keys its JSON by IPFIX element numbers unless given --json-labels. Nothing in a key "7" says
    port: the client ports were counts (another day's out of range) and the router's interface indexes
    constants (another router's, all new). The element registry types them, but only where every key is a
    number and the address elements hold addresses: a table whose columns are merely numbered is left alone."""
    train, other = tmp_path / "np1.json", tmp_path / "np2.json"
    train.write_text(nprobe_json(1500, seed=1))
    other.write_text(nprobe_json(400, seed=2, router=7))
    model, roles = fit_log(runner, train, tmp_path)
    assert roles["7"] == roles["11"] == "port" and roles["1"] == roles["2"] == "numeric", roles
    assert roles["8"] == roles["12"] == roles["22"] == roles["21"] == roles["10"] == roles["14"] == "ignored", roles
    res = invoke(runner, "score", other, "--model", model, "--out", tmp_path / "o.csv", "--json")
    summary = json.loads(res.stdout)
    assert res.exit_code == 0 and summary["flag_rate"] < 0.05, summary
    numbered = tmp_path / "numbered.json"  # numbered columns that are no flow: "8" holds no address
    numbered.write_text("".join(json.dumps({"7": i % 5, "8": f"v{i % 3}", "11": i * 7 % 13}) + "\n" for i in range(300)))
    res = invoke(runner, "fit", numbered, "--model", tmp_path / "m2", "--epochs", "5", "--json")
    roles = {c["name"]: c["role"] for c in json.loads(res.stdout)["columns"]}
    assert res.exit_code == 0 and "port" not in roles.values(), roles


def elastic_export(rows: list[list], day: str, sensor: str, asn: int, country: str) -> list[dict]:
    """Zeek's conn log as Filebeat ships it to Elasticsearch and a search hands it back: ECS names, the
    document's index (named by day), id and score, the shipper's fields, the addresses' AS and country, and
    related.ip gathering the addresses."""
    out = []
    for i, r in enumerate(rows):
        rec = dict(zip(FIELDS, r))
        t = pd.Timestamp(float(rec["ts"]), unit="s").isoformat() + "Z"
        out.append({
            "_index": f"filebeat-7.17.0-{day}", "_id": f"{sensor}-{day}-{i}", "_score": 1.0, "@timestamp": t, "event.ingested": t,
            "event.dataset": "zeek.connection", "event.id": rec["uid"], "source.ip": rec["id.orig_h"], "source.port": rec["id.orig_p"],
            "destination.ip": rec["id.resp_h"], "destination.port": rec["id.resp_p"], "network.transport": rec["proto"],
            "source.bytes": rec["orig_bytes"], "source.packets": rec["orig_pkts"], "destination.bytes": rec["resp_bytes"],
            "destination.packets": rec["resp_pkts"], "zeek.connection.state": rec["conn_state"], "zeek.connection.history": rec["history"],
            "destination.as.number": asn + i % 3, "destination.as.organization.name": f"AS{asn + i % 3}",
            "destination.geo.country_iso_code": country, "related.ip": [rec["id.orig_h"], rec["id.resp_h"]],
            "agent.hostname": sensor, "observer.name": sensor, "ecs.version": "1.12.0", "tags": ["zeek.connection", f"from_{sensor}"],
        })
    return out


def test_an_elasticsearch_export_of_another_day_and_network_is_not_flagged_for_its_metadata(tmp_path, runner):
    """A Kibana CSV export or a search dump as JSON lines: the index is named by day, the shipper and its
    tags by sensor, and ECS enriches each address with its AS and country. The same flows exported from
    another day, sensor and network score as they did: before, every row was flagged (_index,
    destination.as.number, and in the CSV the joined related.ip and tags)."""
    normal = conn_rows(300, seed=5, net="192.168.7")
    for fmt in ("json", "csv"):
        files = {}
        for name, rows, meta in (("train", conn_rows(1000), ("2019.01.10", "sensor-a", 14061, "US")),
                                 ("home", normal, ("2019.01.10", "sensor-a", 14061, "US")),
                                 ("other", normal, ("2018.07.31", "sensor-b", 16509, "DE"))):
            records = elastic_export(rows, *meta)
            path = files[name] = tmp_path / f"{name}.{fmt}"
            if fmt == "json":
                path.write_text("".join(json.dumps(rec) + "\n" for rec in records))
            else:  # Kibana joins a list with ', '
                pd.DataFrame([{k: ", ".join(v) if isinstance(v, list) else v for k, v in rec.items()} for rec in records]).to_csv(path, index=False)
        model = tmp_path / f"m-{fmt}"
        res = invoke(runner, "fit", files["train"], "--model", model, "--epochs", "20", "--json")
        assert res.exit_code == 0, res.output
        cols = {c["name"]: c for c in json.loads(res.stdout)["columns"]}
        for name in ("_index", "_id", "_score", "destination.as.number", "destination.as.organization.name",
                     "destination.geo.country_iso_code", "related.ip", "tags", "agent.hostname"):
            assert cols[name]["role"] == "ignored", (fmt, name, cols[name])
        assert cols["destination.bytes"]["role"] == "numeric" and cols["destination.port"]["role"] == "port"
        assert_scored_as_home(runner, model, files["home"], files["other"], tmp_path)


def test_aws_vpc_flow_logs_are_read_and_another_account_is_not_flagged_for_its_ids(tmp_path, runner):
    """AWS VPC Flow Logs separate their fields with single spaces, and name the account and network interface
    that captured each flow. They read as a table (before, every line was one column: "no usable columns"),
    and another account's flows score as the training account's; a Parquet export spelling the names with
    '_' gets the same roles. A CSV whose values hold spaces keeps its commas."""
    from vaeguard.csvread import sniff_delimiter

    train, home, other = tmp_path / "train.log", tmp_path / "home.log", tmp_path / "other.log.gz"
    train.write_text(vpc_flow_log(2000, "123456789010", ["eni-1235b8ca123456789", "eni-0f9e8d7c6b5a43210"], 1418530010))
    home.write_text(vpc_flow_log(400, "123456789010", ["eni-1235b8ca123456789"], 1700000000, seed=5))
    other.write_bytes(gzip.compress(vpc_flow_log(400, "999988887777", ["eni-aaaabbbbccccdddd0"], 1700000000, seed=5).encode()))
    model, roles = fit_log(runner, train, tmp_path)
    assert roles == {"version": "constant", "account-id": "ignored", "interface-id": "ignored", "srcaddr": "ignored", "dstaddr": "ignored",
                     "srcport": "port", "dstport": "port", "protocol": "categorical", "packets": "numeric", "bytes": "numeric",
                     "start": "ignored", "end": "ignored", "action": "categorical", "log-status": "categorical"}, roles
    assert_scored_as_home(runner, model, home, other, tmp_path)
    written = pd.read_csv(tmp_path / "scored-home-home.log.csv", dtype=str)
    assert written["srcport"].iloc[0] == home.read_text().splitlines()[1].split(" ")[5]  # values as written
    parquet = tmp_path / "flows.parquet"
    frame = pd.read_csv(train, sep=" ", na_values="-")
    frame.columns = [c.replace("-", "_") for c in frame.columns]
    frame.to_parquet(parquet)
    src = open_source(str(parquet))
    specs = {s.name: s.role for s in infer_schema(read_table(src)[0], hints=src.hints)}
    assert specs == {k.replace("-", "_"): v for k, v in roles.items()}, specs
    assert sniff_delimiter("name,city\nJo Ann Lee,New York City\nAl Bo Cy,Los Angeles Co\n") == ","


def test_vpc_flow_logs_without_their_header_line_are_named_by_the_default_format(tmp_path, runner):
    """VPC Flow Logs delivered to CloudWatch Logs have no header line. Before, the first record was taken for
    the header: its values became the column names, ports were counts and the account a constant, so
    another account's log was flagged whole. Records in the default format are named by place; a line
    with another field count is malformed; a custom format's headerless records are no header (its first
    record's addresses say so): --names names them, in the custom format's order."""
    def headerless(text: str) -> str:
        return "".join(line + "\n" for line in text.splitlines()[1:])

    train, home, other = tmp_path / "train.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(headerless(vpc_flow_log(2000, "123456789010", ["eni-1235b8ca123456789"], 1418530010)))
    home.write_text(headerless(vpc_flow_log(400, "123456789010", ["eni-1235b8ca123456789"], 1700000000, seed=5)))
    other.write_text(headerless(vpc_flow_log(400, "999988887777", ["eni-aaaabbbbccccdddd0"], 1700000000, seed=5)) + "2 999988887777 eni-aaaabbbbccccdddd0 cut\n")
    src = open_source(str(train))
    df, _ = read_table(src)
    assert list(df.columns) == VPC_HEADER.split() and len(df) == 2000
    assert src.describe(df.columns) == "AWS VPC Flow Logs (no header line: named in the default format's field order)"
    (tmp_path / "headed.log").write_text(vpc_flow_log(50, "123456789010", ["eni-1"], 0))
    headed = open_source(str(tmp_path / "headed.log"))
    assert headed.describe(read_table(headed)[0].columns) == "AWS VPC Flow Logs (space-separated)"
    model, roles = fit_log(runner, train, tmp_path)
    assert roles["srcport"] == roles["dstport"] == "port" and roles["account-id"] == roles["interface-id"] == "ignored", roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert "1 malformed line skipped" in scored["other-stderr"]
    custom = tmp_path / "custom.log"  # version 5 fields, no header: nothing names them
    custom.write_text("5 123456789010 eni-1235b8ca123456789 10.0.0.1 10.0.0.2 443 51234 6 10 840 1 2 ACCEPT OK vpc-1 us-east-1\n" * 3)
    with pytest.raises(InputError, match="has no header row.*--names"):
        open_source(str(custom))
    fields = ["version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes",
              "start", "end", "action", "log-status", "vpc-id", "region"]
    named = open_source(str(custom), names=fields)
    assert named.log_lines == "" and list(read_table(named)[0].columns) == fields


def test_google_cloud_flow_logs_from_another_project_are_not_flagged_for_where_they_were_seen(tmp_path, runner):
    """GCP's VPC Flow Logs name the project, VPC, subnet, VM, region and zone of each end, and the log entry's
    own name holds the project: one project's constants (before, another project's flows were flagged whole,
    top features logName, resource.labels.project_id). The same flows from another project score the same."""
    train, home, other = tmp_path / "train.json", tmp_path / "home.json", tmp_path / "other.json"
    train.write_text(gcp_flow_log(1500, "shop-prod", 1))
    home.write_text(gcp_flow_log(300, "shop-prod", 20, seed=5))
    other.write_text(gcp_flow_log(300, "billing-prod", 20, seed=5).replace("billing-prod-vm-", "b-vm-"))
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    kept = {name for name, role in roles.items() if role != "ignored"}
    assert kept == {"jsonPayload.connection.src_port", "jsonPayload.connection.dest_port", "jsonPayload.connection.protocol",
                    "jsonPayload.bytes_sent", "jsonPayload.packets_sent", "jsonPayload.reporter"}, roles
    assert_scored_as_home(runner, model, home, other, tmp_path)


def test_a_windows_firewall_log_is_read_from_its_fields_directive(tmp_path, runner):
    """The W3C extended log format names its columns in a '#Fields:' directive under other '#' lines, and
    separates them with spaces (before: the directives were taken for the header, "no usable columns").
    The date, time of day, process ids and TCP sequence numbers identify moments and processes: another
    day's log, with other process ids, scores as the training day's."""
    train, home, other = tmp_path / "pfirewall.log", tmp_path / "home.log", tmp_path / "other.log"
    train.write_text(windows_firewall_log("2026-11-01", [1234, 5678, 904], 3000))
    home.write_text(windows_firewall_log("2026-11-01", [1234, 5678, 904], 600, seed=5))
    other.write_text(windows_firewall_log("2026-11-20", [7712, 10432, 1188], 600, seed=5))
    model, roles = fit_log(runner, train, tmp_path)
    assert list(roles)[:4] == ["date", "time", "action", "protocol"], roles
    assert {k: roles[k] for k in ("date", "time", "src-ip", "dst-ip", "src-port", "dst-port", "size", "tcpsyn", "pid")} == {
        "date": "ignored", "time": "ignored", "src-ip": "ignored", "dst-ip": "ignored", "src-port": "port", "dst-port": "port",
        "size": "numeric", "tcpsyn": "ignored", "pid": "ignored"}, roles
    scored = assert_scored_as_home(runner, model, home, other, tmp_path)
    assert len(scored["other"]) == 600 and "4 lines above the header left out" in scored["other-stderr"]


NFDUMP_HEADER = ("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,"
                 "ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr")


def nfdump_export(rows: list[list], router: str, interfaces: tuple[int, int], engine: str, exporter: int, asn: int) -> str:
    """Connections as `nfdump -o csv` writes the NetFlow one router exported: its address, interfaces,
    engine and exporter ids on every record, and the summary nfdump prints after the flows."""
    out = [NFDUMP_HEADER]
    for r in rows:
        rec = dict(zip(FIELDS, r))
        t = pd.Timestamp(float(rec["ts"]), unit="s").strftime("%Y-%m-%d %H:%M:%S")
        out.append(",".join(map(str, [
            t, t, f"{rec['duration']:.3f}", rec["id.orig_h"], rec["id.resp_h"], rec["id.orig_p"], rec["id.resp_p"], "UDP", "......", 0, 0,
            rec["orig_pkts"], rec["orig_bytes"] + 28, rec["resp_pkts"], rec["resp_bytes"] + 28, *interfaces, asn, asn + 1, 24, 24, 0, 0,
            "0.0.0.0", "0.0.0.0", 0, 0, *["00:00:00:00:00:00"] * 4, *[f"{exporter}-0-0"] * 10, "0.000", "0.000", "0.000",
            router, engine, exporter, t + ".123"])))
    return "\n".join(out + ["Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp", f"{len(rows)},0,0,0,0,0"]) + "\n"


def test_netflow_from_another_router_is_not_flagged_for_its_exporter(tmp_path, runner):
    """nfdump's CSV names the router that exported each flow (ra), its interfaces (in, out), engine and
    exporter ids and the addresses' routing (AS numbers, prefix lengths, MPLS labels). The same flows
    exported by another router score as they did: before, every one was flagged for `in;out;eng`."""
    train, home, other = tmp_path / "train.csv", tmp_path / "home.csv", tmp_path / "other.csv"
    train.write_text(nfdump_export(conn_rows(1000), "10.0.0.1", (2, 3), "0/0", 1, 64500))
    normal = conn_rows(300, seed=5, net="192.168.7")
    home.write_text(nfdump_export(normal, "10.0.0.1", (2, 3), "0/0", 1, 64500))
    other.write_text(nfdump_export(normal, "172.16.0.1", (7, 9), "1/3", 4, 65000))
    model = tmp_path / "m"
    res = invoke(runner, "fit", train, "--model", model, "--epochs", "20", "--json")
    assert res.exit_code == 0, res.output
    cols = {c["name"]: c for c in json.loads(res.stdout)["columns"]}
    for name in ("ts", "te", "tr", "sa", "da", "ra", "nh", "in", "out", "eng", "exid", "sas", "das", "smk", "mpls1", "svln", "ismc"):
        assert cols[name]["role"] == "ignored", (name, cols[name])
    assert cols["dp"]["role"] == "port" and cols["ibyt"]["role"] == "numeric" and cols["pr"]["role"] != "ignored"
    assert_scored_as_home(runner, model, home, other, tmp_path)
    # Only nfdump's own header gets its names read so: a table that merely has columns 'in' and 'out' keeps its rules.
    from vaeguard.logs.recognise import table_hints

    assert table_hints(["in", "out", "bytes"]) == {} and table_hints(NFDUMP_HEADER.split(","))["in"] == "sensor"


def test_an_elastic_export_leaves_the_shippers_fields_out():
    """A conn log exported from Elasticsearch (Elastic Common Schema) carries which agent and host shipped
    each record: one sensor's constants, which had flagged every row another sensor shipped."""
    n = 200
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "@timestamp": pd.date_range("2026-11-25", periods=n, freq="s").strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "source.port": rng.integers(32768, 61000, n), "destination.port": rng.choice([53, 443], n),
        "source.bytes": rng.integers(40, 5000, n), "network.transport": rng.choice(["tcp", "udp"], n),
        "host.name": "sensor-1", "agent.id": "2f6c1d0e-8b1a-4e59-9c1e-0a3f5b7d9e21", "agent.version": "8.11.0",
        "observer.hostname": "zeek-1", "ecs.version": "8.0.0", "@version": "1", "event.dataset": "zeek.connection",
    })
    roles = {s.name: s.role for s in infer_schema(df)}
    assert all(roles[c] == "ignored" for c in ("host.name", "agent.id", "agent.version", "observer.hostname", "ecs.version", "@version")), roles
    assert roles["destination.port"] == "port" and roles["source.bytes"] == "numeric" and roles["event.dataset"] == "constant"


def azure_flow_log(n: int, day: int, where: str, macs: list[str], seed: int = 0, vnet: bool = False, version: int = 2) -> str:
    """An hour file (PT1H.json) of Azure NSG flow logs, or of VNet flow logs with vnet=True: records of flows
    nested by rule and NIC, each flow a comma-joined tuple; a flow's first tuple (state B) without counts."""
    rng = np.random.default_rng(seed)
    t0 = 1_764_720_000 + day * 86_400
    records = []
    for hour in range(3):
        by_rule: dict[str, dict[str, list[str]]] = {}
        for i in range(n // 3):
            port = int(rng.choice([443, 443, 80, 53, 22]))
            allowed = port != 22 or rng.random() < 0.2
            state = str(rng.choice(["B", "C", "E"]))
            pkts = int(rng.integers(1, 40))
            size = pkts * int(rng.integers(40, 1500))
            counts = ",,,," if state == "B" else f",{pkts},{size},{max(1, pkts - 1)},{size // 2}"
            head = (f"{t0 + hour * 3600 + i}{'000' if vnet else ''},10.0.0.{rng.integers(4, 20)},52.{rng.integers(1, 250)}.{rng.integers(1, 250)}.9,"
                    f"{rng.integers(1024, 65535)},{port},{('17' if port == 53 else '6') if vnet else ('U' if port == 53 else 'T')},O")
            flow = f"{head},{state},NX{counts}" if vnet else f"{head},{'A' if allowed else 'D'}" + (f",{state}{counts}" if version == 2 else "")
            rule = "DefaultRule_AllowInternetOutBound" if allowed else "UserRule_DenySSH"
            by_rule.setdefault(rule, {}).setdefault(str(rng.choice(macs)), []).append(flow)
        when = f"2026-12-{day + 1:02d}T{hour:02d}:00:00.0000000Z"
        if vnet:
            records.append({"time": when, "flowLogVersion": 4, "flowLogGUID": "66aa66aa", "macAddress": macs[0], "category": "FlowLogFlowEvent",
                            "flowLogResourceID": f"/SUBSCRIPTIONS/11/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/FLOWLOGS/{where}",
                            "targetResourceID": f"/subscriptions/11/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/{where}",
                            "operationName": "FlowLogFlowEvent",
                            "flowRecords": {"flows": [{"aclID": f"{where}-acl", "flowGroups": [{"rule": rule, "flowTuples": [f for m in nics.values() for f in m]}
                                                                                              for rule, nics in by_rule.items()]}]}})
        else:
            records.append({"time": when, "systemId": "a1b2", "macAddress": macs[0], "category": "NetworkSecurityGroupFlowEvent",
                            "resourceId": f"/SUBSCRIPTIONS/11/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/{where}",
                            "operationName": "NetworkSecurityGroupFlowEvents",
                            "properties": {"Version": version, "flows": [{"rule": rule, "flows": [{"mac": mac, "flowTuples": flows} for mac, flows in nics.items()]}
                                                                         for rule, nics in by_rule.items()]}})
    return json.dumps({"records": records}, indent=2 if seed % 2 else None)


@pytest.mark.parametrize("vnet", [False, True], ids=["nsg", "vnet"])
def test_azure_flow_logs_are_read_a_flow_a_row_and_another_nsg_is_not_flagged_for_its_ids(tmp_path, runner, vnet):
    """Azure's NSG and VNet flow logs nest each flow, a comma-joined tuple, under its record, rule and NIC
    (before: the hour's document was one row, and fit stopped with "need at least 5 rows to fit, got 1"). Read a
    tuple a row; the NSG or VNet, NIC and times are where and when, ignored; another NSG's flows on
    another day score as the training NSG's."""
    train, home, other = tmp_path / "PT1H.json", tmp_path / "home.json", tmp_path / "other.json"
    train.write_text(azure_flow_log(1500, 0, "NSG-A", ["000D3AF87856", "000D3AF87857"], vnet=vnet))
    home.write_text(azure_flow_log(300, 0, "NSG-A", ["000D3AF87856", "000D3AF87857"], seed=5, vnet=vnet))
    other.write_text(azure_flow_log(300, 9, "NSG-B", ["000D3A11AA01", "000D3A11AA02"], seed=5, vnet=vnet))
    src = open_source(str(train))
    df, _ = read_table(src)
    assert len(df) == 1500 and src.describe(df.columns) == f"Azure {'VNet' if vnet else 'NSG'} flow logs (JSON: flows nested in each record)"
    assert df["bytes_src_to_dest"].isna().any() and df["bytes_src_to_dest"].notna().any()  # state B: no counts yet
    model, roles = fit_log(runner, train, tmp_path, epochs=20)
    kept = {name for name, role in roles.items() if role not in ("ignored", "constant")}
    assert kept == {"rule", "src_port", "dest_port", "protocol", "state", "packets_src_to_dest", "bytes_src_to_dest",
                    "packets_dest_to_src", "bytes_dest_to_src"} | (set() if vnet else {"decision"}), roles  # VNet: no decision
    assert roles["dest_port"] == "port" and roles["bytes_src_to_dest"] == "numeric" and roles["ts"] == roles["src_ip"] == "ignored"
    assert_scored_as_home(runner, model, home, other, tmp_path)
    # The hour files of a day as Azure stores them, a folder per hour, read as one table; and on stdin, gzipped.
    for hour, path in enumerate((home, other)):
        (tmp_path / "day" / f"h={hour:02d}").mkdir(parents=True)
        (tmp_path / "day" / f"h={hour:02d}" / "PT1H.json").write_text(path.read_text())
    res = invoke(runner, "score", tmp_path / "day", "--model", model, "--out", tmp_path / "day.csv", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["rows"] == 600, res.output
    res = invoke(runner, "score", "-", "--model", model, "--out", tmp_path / "in.csv", "--json", input=gzip.compress((home.read_text() + other.read_text()).encode()))
    assert res.exit_code == 0 and json.loads(res.stdout)["rows"] == 600, res.output


def test_azure_flow_logs_cut_short_or_of_version_1(tmp_path, runner):
    cut = tmp_path / "PT1H.json"
    cut.write_text(azure_flow_log(300, 0, "NSG-A", ["000D3AF87856"])[:5000])
    res = invoke(runner, "fit", cut, "--model", tmp_path / "m")
    assert res.exit_code == 2 and "ends before its JSON closes: the file is cut short" in res.stderr, res.output
    assert not (tmp_path / "m").exists()
    # Version 1 tuples stop after the decision: the state and counts are there, empty.
    v1 = tmp_path / "v1.json"
    v1.write_text(azure_flow_log(60, 0, "NSG-A", ["000D3AF87856"], version=1))
    df, _ = read_table(open_source(str(v1)))
    assert len(df) == 60 and df["state"].isna().all() and df["decision"].notna().all()


def test_a_w3c_log_that_writes_its_directives_again_part_way(tmp_path, runner):
    """Windows Firewall and IIS write their '#' directives again at a restart: inside the log they are
    left out and counted, even with --strict (before: malformed lines, and --strict stopped on a valid log).
    A '#Fields:' there that names other fields stops the run: the rows below it hold other columns."""
    first, second = windows_firewall_log("2026-11-01", [904], 400), windows_firewall_log("2026-11-02", [904], 400, seed=3)
    log = tmp_path / "pfirewall.log"
    log.write_text(first + second)
    res = invoke(runner, "fit", log, "--model", tmp_path / "m", "--strict", "--epochs", "5")
    assert res.exit_code == 0 and "4 '#' directive lines inside the log left out" in res.stderr, res.output
    assert "malformed" not in res.stderr
    res = invoke(runner, "score", log, "--model", tmp_path / "m", "--strict", "--out", tmp_path / "s.csv", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["rows"] == 800, res.output
    log.write_text(first + second.replace("#Fields: date time action", "#Fields: date time action rule"))
    res = invoke(runner, "fit", log, "--model", tmp_path / "m2")
    assert res.exit_code == 2 and "changes its fields part way" in res.stderr and not (tmp_path / "m2").exists(), res.output


def test_a_model_of_one_exporter_given_anothers_log_says_so(tmp_path, runner):
    """A Zeek model given AWS VPC Flow Logs, or an Azure NSG model given a FortiGate log: the error names
    both kinds of log first, then the missing columns (before: the missing columns alone)."""
    (tmp_path / "conn.log").write_text(zeek_text(conn_rows(300)))
    assert invoke(runner, "fit", tmp_path / "conn.log", "--model", tmp_path / "zeek", "-q", "--epochs", "3").exit_code == 0
    (tmp_path / "vpc.log").write_text(vpc_flow_log(40, "123456789012", ["eni-0a1"], 1_700_000_000))
    res = invoke(runner, "score", tmp_path / "vpc.log", "--model", tmp_path / "zeek", "--out", tmp_path / "s.csv")
    assert res.exit_code == 2 and not (tmp_path / "s.csv").exists()
    assert "the model was fitted on another kind of log (Zeek conn log; this one: AWS VPC Flow Logs)" in res.stderr, res.stderr
    (tmp_path / "PT1H.json").write_text(azure_flow_log(300, 0, "NSG-A", ["000D3AF87856"]))
    assert invoke(runner, "fit", tmp_path / "PT1H.json", "--model", tmp_path / "nsg", "-q", "--epochs", "3").exit_code == 0
    (tmp_path / "fgt.log").write_text(fortigate_log(40, 1, "FGT-A", "root"))
    res = invoke(runner, "score", tmp_path / "fgt.log", "--model", tmp_path / "nsg", "--out", tmp_path / "s.csv")
    assert res.exit_code == 2 and "(Azure NSG flow logs; this one: FortiGate traffic log)" in res.stderr, res.stderr
    (tmp_path / "pan.log").write_text(panos_log(40, 1, "PA-A"))
    res = invoke(runner, "score", tmp_path / "pan.log", "--model", tmp_path / "nsg", "--out", tmp_path / "s.csv")
    assert res.exit_code == 2 and "(Azure NSG flow logs; this one: Palo Alto Networks traffic log)" in res.stderr, res.stderr
