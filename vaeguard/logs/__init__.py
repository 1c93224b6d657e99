"""Flow and firewall logs as sensors and devices write them, a module per family of formats:

    zeek.py       Zeek's TSV logs
    jsonlines.py  JSON lines: Zeek JSON, Suricata eve.json, goflow2, pmacct, nProbe
    cloud.py      AWS VPC, Google Cloud VPC and Azure NSG / VNet flow logs
    keyvalue.py   key=value syslog: FortiGate, SonicWall, Juniper SRX
    firewalls.py  PAN-OS, Cisco ASA and Firepower syslog
    events.py     CEF, LEEF and Check Point events
    recognise.py  which exporter wrote a table, and the types its field names give
    lines.py      what the line readers share

`sources.py` detects the format from a file's first bytes and reads it in chunks through these.
"""
