"""Text from outside (a mail server's reply, a gateway's error body, an exception message) may name the
person it was about. Before such text reaches a plain-text column, a log line or an error message it
passes through ``scrub``: the recipient's own details are cut out by value, and anything shaped like an
e-mail address or a phone number is cut out by pattern.

Known values are cut in every form a server is likely to echo them: whatever the letter case, an
e-mail address's local part and domain on their own (sendmail answers ``maria.lopez... User
unknown``), a phone number's digits however they are grouped, each word of a name, each line of a
postal address.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

EMAIL = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IP = re.compile(r"\d{1,3}(\.\d{1,3}){3}\Z")  # a server's address in a connection error, not a phone
LIMIT = 300
SHORTEST = 3  # shorter pieces of a known value ("Li", "Al") would cut ordinary words


def scrub(text: object, known: Iterable[Optional[str]] = (), limit: int = LIMIT) -> str:
    """``text`` with contact details removed, on one line, at most ``limit`` characters."""
    out = " ".join(str(text).split())
    for pattern in _known_patterns(known):
        out = pattern.sub("[redacted]", out)
    out = EMAIL.sub("[address]", out)
    out = PHONE.sub(_phone, out)
    return out[:limit]


def _known_patterns(known: Iterable[Optional[str]]) -> list[re.Pattern]:
    pieces: set[str] = set()
    digit_runs: set[str] = set()
    for value in known:
        if not value or not str(value).strip():
            continue
        value = str(value).strip()
        pieces.add(" ".join(value.split()))
        pieces.update(line.strip() for line in value.splitlines())
        if "@" in value and not any(c.isspace() for c in value):  # an e-mail address
            local, _, domain = value.rpartition("@")
            pieces.update((local, domain))
        else:
            pieces.update(re.findall(r"[^\W\d_][\w'-]*", value))  # words of a name or an address line
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7 and not re.search(r"[^\d\s().+-]", value):  # a phone number
            digit_runs.add(digits[-10:])  # the national number, with or without the country code
    patterns = [re.compile(r"(?<!\w)" + re.escape(p) + r"(?!\w)", re.IGNORECASE)
                for p in sorted((p for p in pieces if len(p) >= SHORTEST), key=len, reverse=True)]
    patterns += [re.compile(r"\+?" + r"[\s().-]*".join(run)) for run in digit_runs]
    return patterns


def _phone(match: re.Match) -> str:
    found = match.group(0)
    if DATE.match(found) or IP.match(found) or sum(c.isdigit() for c in found) < 7:  # not a phone number
        return found
    return "[number]"
