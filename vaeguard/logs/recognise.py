"""Which flow exporter wrote a table, told by its field names, and the column types its names give where the
format carries none (nfdump's CSV, VPC Flow Logs, the firewall logs).
"""

from __future__ import annotations

from .cloud import GCP_CLOUD_PARTS, GCP_FLOW_CORE, GCP_ROUTE_PARTS, GCP_TYPES, VPC_FLOW_CORE, VPC_FLOW_TYPES
from .dnsquery import DNS_QUERY_CORE, DNS_QUERY_TYPES
from .events import CEF_CORE, CEF_TYPES, CHECKPOINT_CORE, CHECKPOINT_TYPES, LEEF_CORE, LEEF_TYPES
from .firewalls import ASA_CORE, ASA_DENY_CORE, ASA_TYPES, FTD_TYPES, PANOS_CORE, PANOS_TYPES, pan_os_export_fields, pan_os_export_hints
from .keyvalue import FORTIGATE_CORE, FORTIGATE_TYPES, JUNOS_TYPES, NETFILTER_CORE, NETFILTER_TYPES, sonicwall_hints
from .lines import picked
from .mikrotik import MIKROTIK_CORE, MIKROTIK_TYPES
from .pf import FILTERLOG_CORE, FILTERLOG_TYPES
from .web import ACCESS_CORE, ACCESS_TYPES, SQUID_CORE, SQUID_TYPES

# nfdump's CSV output (`nfdump -o csv`: NetFlow and IPFIX records as a collector stores them), by its own
# short names. Besides the flow it names the exporter that saw it: the router (ra), its interfaces (in, out),
# engine and exporter ids, the addresses' routing (AS numbers, prefix lengths, next hops, MPLS labels). One
# router's constants, so every flow another router exported would hold values training never held.
NFDUMP_TYPES = {
    "ts": "time", "te": "time", "tr": "time", "td": "interval", "sa": "addr", "da": "addr", "sp": "port", "dp": "port",
    "ipkt": "count", "ibyt": "count", "opkt": "count", "obyt": "count", "cl": "interval", "sl": "interval", "al": "interval",
    "in": "sensor", "out": "sensor", "eng": "sensor", "exid": "sensor", "ra": "addr", "nh": "addr", "nhb": "addr",
    "sas": "route", "das": "route", "smk": "route", "dmk": "route", **{f"mpls{i}": "route" for i in range(1, 11)},
}
# The names that tell nfdump's CSV from any other table's (its other names are as short and as plain).
NFDUMP_CORE = {"ts", "te", "td", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt"}


# The flow records a table's field names give away, for what fit and score say they read: (name, test).
WINDOWS_FIREWALL_CORE = {"action", "protocol", "src-ip", "dst-ip", "path"}
ARGUS_CORE = {"SrcAddr", "DstAddr", "Sport", "Dport", "TotBytes"}
_EXPORTERS = (
    ("Google Cloud VPC Flow Logs", lambda n: GCP_FLOW_CORE in n),
    ("Azure VNet flow logs", lambda n: {"flowLogResourceID", "src_ip", "encryption"} <= n),
    ("Azure NSG flow logs", lambda n: {"resourceId", "mac", "src_ip", "decision"} <= n),
    ("Suricata flow events", lambda n: "flow.start" in n or "flow.bytes_toserver" in n),
    ("Zeek conn log", lambda n: {"uid", "id.orig_h", "conn_state"} <= n),
    ("nfdump flow records", lambda n: NFDUMP_CORE <= n),
    ("AWS VPC Flow Logs", lambda n: VPC_FLOW_CORE <= {k.replace("_", "-") for k in n}),
    ("Windows Firewall log", lambda n: WINDOWS_FIREWALL_CORE <= n),
    ("FortiGate traffic log", lambda n: FORTIGATE_CORE <= n),
    ("SonicWall connection log", lambda n: {"sn", "fw", "m", "src", "dst", "src_port"} <= n),
    ("Palo Alto Networks traffic log", lambda n: PANOS_CORE <= n),
    ("Palo Alto Networks traffic log export", lambda n: bool(pan_os_export_fields(n))),
    ("Cisco ASA connection log", lambda n: ASA_CORE <= n or ASA_DENY_CORE <= n),
    ("Cisco Firepower connection events", lambda n: {"SrcIP", "DstIP", "InitiatorBytes", "ResponderBytes"} <= n),
    ("CEF events", lambda n: CEF_CORE <= n),
    ("LEEF events", lambda n: LEEF_CORE <= n),
    ("Check Point logs", lambda n: CHECKPOINT_CORE <= n),
    ("Argus flow records", lambda n: ARGUS_CORE <= n),
    ("Juniper SRX session log", lambda n: {"source-address", "destination-address", "session-id-32"} <= n),
    ("pf filter log (pfSense, OPNsense)", lambda n: FILTERLOG_CORE <= n),
    ("MikroTik firewall log", lambda n: MIKROTIK_CORE <= n),
    ("web server access log", lambda n: ACCESS_CORE <= n),
    ("Squid access log", lambda n: SQUID_CORE <= n),
    ("DNS server query log", lambda n: DNS_QUERY_CORE <= n),
    ("Linux netfilter packet log (iptables, nftables, UFW)", lambda n: NETFILTER_CORE <= n),
    ("goflow2 flow records", lambda n: {"time_flow_start_ns", "src_addr", "dst_addr", "sampler_address"} <= n),
    ("pmacct flow records", lambda n: {"ip_src", "ip_dst", "port_src", "port_dst"} <= n),
    ("SiLK flow records", lambda n: {"sIP", "dIP", "sPort", "dPort"} <= n),
    ("Elasticsearch export", lambda n: "_index" in n or {"source.ip", "destination.ip"} <= n),
)


def _gcp_hints(names: set[str]) -> dict[str, str]:
    hints = {k: v for k, v in GCP_TYPES.items() if k in names}
    hints.update({n: "cloud" for n in names if n.startswith(GCP_CLOUD_PARTS)})
    hints.update({n: "route" for n in names if n.startswith(GCP_ROUTE_PARTS)})
    return hints


def _vpc_hints(names: set[str]) -> dict[str, str]:
    spelled = {n.replace("_", "-"): n for n in names}
    return {spelled[k]: v for k, v in VPC_FLOW_TYPES.items() if k in spelled}


# The exporters above that write no types of their own, typed by their names.
_TYPED = {"Google Cloud VPC Flow Logs": _gcp_hints, "nfdump flow records": picked(NFDUMP_TYPES), "AWS VPC Flow Logs": _vpc_hints,
          "FortiGate traffic log": picked(FORTIGATE_TYPES), "SonicWall connection log": sonicwall_hints,
          "Palo Alto Networks traffic log": picked(PANOS_TYPES),
          "Palo Alto Networks traffic log export": pan_os_export_hints,
          "Cisco ASA connection log": picked(ASA_TYPES), "Cisco Firepower connection events": picked(FTD_TYPES),
          "Juniper SRX session log": picked(JUNOS_TYPES), "Linux netfilter packet log (iptables, nftables, UFW)": picked(NETFILTER_TYPES),
          "pf filter log (pfSense, OPNsense)": picked(FILTERLOG_TYPES), "MikroTik firewall log": picked(MIKROTIK_TYPES), "web server access log": picked(ACCESS_TYPES),
          "Squid access log": picked(SQUID_TYPES), "DNS server query log": picked(DNS_QUERY_TYPES), "CEF events": picked(CEF_TYPES),
          "LEEF events": picked(LEEF_TYPES), "Check Point logs": picked(CHECKPOINT_TYPES)}


def table_hints(names) -> dict[str, str]:
    """Column types for a table whose names are those of a flow exporter that writes no types of its own:
    nfdump's CSV, AWS and Google Cloud VPC Flow Logs, FortiGate's key=value log. {} for any other table."""
    names = set(map(str, names))
    return next((_TYPED[what](names) for what, test in _EXPORTERS if what in _TYPED and test(names)), {})


def recognised(names) -> str:
    """The flow exporter whose field names `names` are ("" for any other table)."""
    names = set(map(str, names))
    return next((what for what, test in _EXPORTERS if test(names)), "")
