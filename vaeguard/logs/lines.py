"""What the line readers share: a log line's values as JSON text, whether most peeked lines are records of a
kind, the syslog header before a device's message, and types picked by name.
"""

from __future__ import annotations

import json

# The fewest pairs (key=value, or Check Point's key:"value") that make a line a record, not text holding an '='.
KV_MIN_PAIRS = 4


def json_text(value: str) -> str:
    # A quote, an escape or a control character: json writes it; anything else goes in as it is.
    return json.dumps(value) if '"' in value or "\\" in value or not value.isprintable() else f'"{value}"'


def header_before(line: str, start: int) -> str:
    """What stands before a device's message (the syslog priority, time and host), without its closing colon."""
    return line[:start].strip().rstrip(":").strip()


def syslog_header(line: str, start: int) -> str:
    """That header as JSON text: null where there is none."""
    header = header_before(line, start)
    return json_text(header) if header else "null"


def json_value(value: str) -> str:
    """An unquoted value as JSON: a number where it is one, null where it is empty or N/A, text otherwise."""
    if not value or value == "N/A":
        return "null"
    if (value.isdigit() or value[0] == "-" and value[1:].isdigit()) and len(value) < 19:
        return str(int(value))  # int64; a longer run of digits (nanoseconds) stays text
    if "." in value and value.replace(".", "", 1).lstrip("-").isdigit() and value[-1] != ".":
        return repr(float(value))
    return json_text(value)


def most_lines(text: str, test) -> bool:
    """Whether the first whole peeked line and four in five of the first twenty pass `test`: a log of such
    lines, whose others are malformed lines, counted as the file is read."""
    lines = [line for line in text.splitlines()[:21] if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last peeked line may be cut
    return bool(lines) and bool(test(lines[0])) and sum(bool(test(line)) for line in lines) >= 0.8 * len(lines)


def picked(types: dict[str, str]):
    """The types of `types` whose names a table has: the hints of an exporter that names its fields."""
    return lambda names: {k: v for k, v in types.items() if k in names}
