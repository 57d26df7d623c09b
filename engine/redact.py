"""Text from outside (a mail server's reply, a gateway's error body, an exception
message) may name the person it was about. Before such text reaches a plain-text
column, a log line or an error message it passes through ``scrub``: the
recipient's own details are cut out by value, and anything shaped like an
e-mail address or a phone number is cut out by pattern.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

EMAIL = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LIMIT = 300


def scrub(text: object, known: Iterable[Optional[str]] = (), limit: int = LIMIT) -> str:
    """``text`` with contact details removed, on one line, at most ``limit`` characters."""
    out = " ".join(str(text).split())
    for value in sorted({v.strip() for v in known if v and v.strip()}, key=len, reverse=True):
        for line in value.splitlines() or [value]:
            if len(line.strip()) >= 3:
                out = out.replace(line.strip(), "[redacted]")
    out = EMAIL.sub("[address]", out)
    out = PHONE.sub(_phone, out)
    return out[:limit]


def _phone(match: re.Match) -> str:
    found = match.group(0)
    if DATE.match(found) or sum(c.isdigit() for c in found) < 7:  # a date or a short number, not a phone
        return found
    return "[number]"
