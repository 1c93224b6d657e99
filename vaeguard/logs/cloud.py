"""Cloud flow logs: AWS VPC Flow Logs (the default format's records, also without a header line, as
CloudWatch Logs holds them), Google Cloud VPC Flow Logs' names and types, and Azure NSG and VNet flow logs
(an hour's document, a row per flow tuple).
"""

from __future__ import annotations

import re
from typing import Iterator

from .lines import most_lines

# AWS VPC Flow Logs (space-separated text, or Parquet, or queried with '_' for '-'): besides the flow, where
# in the cloud it was captured, the account, network interface, VPC, subnet, instance, region and zone.
VPC_FLOW_TYPES = {
    "srcaddr": "addr", "dstaddr": "addr", "pkt-srcaddr": "addr", "pkt-dstaddr": "addr", "srcport": "port", "dstport": "port",
    "packets": "count", "bytes": "count", "start": "time", "end": "time",
    **dict.fromkeys(("account-id", "interface-id", "vpc-id", "subnet-id", "instance-id", "region", "az-id", "sublocation-type",
                     "sublocation-id", "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
                     "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn",
                     "ecs-task-id"), "cloud"),
}
VPC_FLOW_CORE = {"srcaddr", "dstaddr", "srcport", "dstport", "packets", "bytes"}
# Delivered to CloudWatch Logs (and exported from there), VPC Flow Logs have no header line: a record in the
# default format (version 2) is known by its place-named fields, and they are its names. A custom format
# without its header cannot be named: its first line is taken for the header, as in any CSV.
VPC_DEFAULT_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
                      "bytes", "start", "end", "action", "log-status")
_VPC_DEFAULT_RECORD = re.compile(r"2 (?:\d{12}|-|unknown) (?:eni-[0-9a-f]+|-)(?: \S+){7} \d+ \d+ (?:ACCEPT|REJECT|-) (?:OK|NODATA|SKIPDATA)")


def looks_vpc_default(text: str) -> bool:
    """Whether the peeked lines are AWS VPC Flow Log records in the default format, with no header line."""
    return most_lines(text, lambda line: _VPC_DEFAULT_RECORD.fullmatch(line.strip()))


def vpc_default_line(line: str) -> str | None:
    """A headerless VPC Flow Log record as a CSV row of the default format's fields (None: not such a record)."""
    fields = line.split()
    return ",".join(fields) if len(fields) == len(VPC_DEFAULT_FIELDS) else None


# Google Cloud VPC Flow Logs, exported from Cloud Logging as JSON (nested keys flattened with '.'): where in
# the cloud each end sits (project, VPC, subnet, VM, region, zone) and, for an outside end, its country,
# city and AS; the log entry's own name, id, resource and receive time.
GCP_FLOW_CORE = "jsonPayload.connection.src_ip"
GCP_CLOUD_PARTS = ("jsonPayload.src_instance.", "jsonPayload.dest_instance.", "jsonPayload.src_vpc.", "jsonPayload.dest_vpc.",
                   "jsonPayload.src_gke_details.", "jsonPayload.dest_gke_details.", "jsonPayload.src_google_service.",
                   "jsonPayload.dest_google_service.", "resource.", "logName", "labels.")
GCP_ROUTE_PARTS = ("jsonPayload.src_location.", "jsonPayload.dest_location.")
GCP_TYPES = {"jsonPayload.connection.src_ip": "addr", "jsonPayload.connection.dest_ip": "addr", "jsonPayload.connection.src_port": "port",
             "jsonPayload.connection.dest_port": "port", "jsonPayload.bytes_sent": "count", "jsonPayload.packets_sent": "count",
             "jsonPayload.start_time": "time", "jsonPayload.end_time": "time", "timestamp": "time", "receiveTimestamp": "time",
             "insertId": "id"}

# Azure NSG flow logs (PT1H.json, version 1 or 2) and their successor, VNet flow logs: one JSON document
# per hour and NSG or NIC, {"records": [...]}, each record's flows nested by rule and NIC, each flow a
# comma-joined tuple. Read as one row per tuple (see azure_flow_rows): the tuple's fields by these names,
# beside the record's time, resource, rule and NIC. Version 1 tuples stop after the decision; a flow's
# first tuple (state B) leaves its counts empty.
AZURE_NSG_TUPLE = ("ts", "src_ip", "dest_ip", "src_port", "dest_port", "protocol", "direction", "decision", "state",
                   "packets_src_to_dest", "bytes_src_to_dest", "packets_dest_to_src", "bytes_dest_to_src")
AZURE_VNET_TUPLE = ("ts", "src_ip", "dest_ip", "src_port", "dest_port", "protocol", "direction", "state", "encryption",
                    "packets_src_to_dest", "bytes_src_to_dest", "packets_dest_to_src", "bytes_dest_to_src")
_AZURE_NUMBERS = {"ts", "src_port", "dest_port", "packets_src_to_dest", "bytes_src_to_dest", "packets_dest_to_src", "bytes_dest_to_src"}
AZURE_TYPES = {"time": "time", "ts": "time", "src_ip": "addr", "dest_ip": "addr", "src_port": "port", "dest_port": "port",
               "protocol": "enum", "direction": "enum", "decision": "enum", "state": "enum", "encryption": "enum",
               "packets_src_to_dest": "count", "bytes_src_to_dest": "count", "packets_dest_to_src": "count", "bytes_dest_to_src": "count",
               # Where the flow was seen: the NSG or NIC's resource, the NIC's MAC, the ACL's id.
               "resourceId": "cloud", "flowLogResourceID": "cloud", "targetResourceID": "cloud", "mac": "cloud", "macAddress": "cloud",
               "aclID": "cloud", "rule": "string"}


def is_azure_flow_log(text: str) -> bool:
    """Whether peeked JSON text is an Azure NSG or VNet flow log ({"records": [...]} of flow events)."""
    head = text.lstrip()[:200]
    return head.startswith("{") and '"records"' in head and ("flowTuples" in text or "FlowEvent" in text)


def _tuple_row(names: tuple[str, ...], flow: str, row: dict) -> dict:
    values = flow.split(",")
    # Every name, set or not (a version 1 tuple has no state or counts): each file then has the same
    # columns, and a field that a model always saw set is missing, not absent.
    for name, value in zip(names, values + [""] * (len(names) - len(values))):
        value = value.strip()
        row[name] = None if value == "" else int(value) if name in _AZURE_NUMBERS and value.isdigit() else value
    return row


def azure_flow_rows(record: dict) -> Iterator[dict]:
    """One row per flow tuple of an Azure flow log record (NSG: properties.flows[].flows[].flowTuples;
    VNet: flowRecords.flows[].flowGroups[].flowTuples)."""
    if "flowRecords" in record:
        base = {k: record.get(k) for k in ("time", "flowLogResourceID", "targetResourceID", "macAddress")}
        for acl in (record.get("flowRecords") or {}).get("flows") or []:
            for group in acl.get("flowGroups") or []:
                for flow in group.get("flowTuples") or []:
                    yield _tuple_row(AZURE_VNET_TUPLE, str(flow), {**base, "aclID": acl.get("aclID"), "rule": group.get("rule")})
        return
    base = {"time": record.get("time"), "resourceId": record.get("resourceId")}
    for rule in (record.get("properties") or {}).get("flows") or []:
        for nic in rule.get("flows") or []:
            for flow in nic.get("flowTuples") or []:
                yield _tuple_row(AZURE_NSG_TUPLE, str(flow), {**base, "rule": rule.get("rule"), "mac": nic.get("mac")})
