"""XML Schema dateTime parsing, as VC 2.0 and Data Integrity use it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# xsd:dateTime with a mandatory timezone (VC 2.0 requires one for validFrom/validUntil).
_DATETIME = re.compile(
    r"^(?P<date>-?\d{4,}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})$"
)


def parse_datetime(value: object) -> datetime:
    """Parse an xsd:dateTime with timezone into an aware datetime; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("a date-time must be a string")
    m = _DATETIME.match(value)
    if not m:
        raise ValueError(f"{value!r} is not an XML Schema dateTime with a timezone")
    frac = (m["frac"] or "")[:7].ljust(7, "0")[1:] if m["frac"] else ""
    text = f"{m['date']}T{m['time']}{'.' + frac if frac else ''}"
    tz = "+00:00" if m["tz"] == "Z" else m["tz"]
    try:
        parsed = datetime.fromisoformat(text + tz)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time") from None
    return parsed.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    """UTC, second precision, 'Z' suffix: the form certreg writes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
