"""What every CSV import shares: reading the file, checking its header, and refusing it whole.

An import checks every row before writing anything and reports each problem
as ``row N: column: what is wrong``, rows numbered as a spreadsheet shows them
(the header is row 1). A problem never quotes the cell: a shifted column could
put a name or an address where a kind was expected. ``ImportRefused`` carries
those lines; ``DryRun`` is raised inside the write transaction so that it rolls
back and carries the report out. Used by ``services.registrations`` and
``services.partners``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterator

from engine.errors import InvalidInput
from engine.redact import scrub

MAX_BYTES = 10 * 1024 * 1024
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
PHONE = re.compile(r"\+?[\d\s().-]+")
YES, NO = ("yes", "y", "true", "1", "x"), ("no", "n", "false", "0", "")


class ImportRefused(InvalidInput):
    """A file with problems: nothing was written. ``problems``: one ``row N: ...`` line each."""

    def __init__(self, problems: list[str], rows: int):
        bad = len({p.split(":", 1)[0] for p in problems})
        super().__init__(f"{bad} of {rows} row(s) have problems ({len(problems)} in all); nothing was written. "
                         "Fix the file and run again (--dry-run checks it without writing)")
        self.problems = problems
        self.rows = rows


class DryRun(Exception):
    """Raised inside the write transaction so that it rolls back; carries the report."""

    def __init__(self, report: dict[str, Any]):
        super().__init__("dry run")
        self.report = report


def is_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL.fullmatch(value) is not None


def is_phone(value: str) -> bool:
    """7 to 15 digits, with the usual separators and an optional leading +."""
    return PHONE.fullmatch(value) is not None and 7 <= sum(c.isdigit() for c in value) <= 15


def same_name(name: str) -> str:
    """A name as compared for duplicates: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


def column_name(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def read(data: bytes, columns: tuple[str, ...], required: tuple[str, ...], max_rows: int
         ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows ``(row number, cells)`` of a UTF-8 CSV file (commas,
    semicolons or tabs); refuses a file that is too big, not text, not CSV, or whose header
    names an unknown column, one twice, or lacks a required one."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'") from None
    if not text.strip():
        raise InvalidInput(f"the file is empty; its first row names the columns: {', '.join(columns)}")
    first = text.splitlines()[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [column_name(h) for h in next(reader)]
        check_header(header, columns, required)
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise InvalidInput(f"the file has more than {max_rows} rows; split it")
            rows.append((number, cells))
    except csv.Error as exc:
        raise InvalidInput(f"the file is not readable as CSV near row {reader.line_num}: {scrub(exc, limit=80)}") from None
    if not rows:
        raise InvalidInput("the file has a header but no rows")
    return header, rows


def check_header(header: list[str], columns: tuple[str, ...], required: tuple[str, ...]) -> None:
    unknown = [n for n, h in enumerate(header, start=1) if h not in columns]
    if unknown:
        raise InvalidInput(f"column {unknown[0]} of the header is not a known column; "
                           f"the columns are: {', '.join(columns)}")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise InvalidInput(f"the header names column {twice[0]} twice")
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"the header has no {missing[0]} column (needed: {', '.join(required)})")


class Problems:
    """The problems of one row, at most one per column, as ``row N: column: what`` lines."""

    def __init__(self, number: int):
        self.number = number
        self.lines: list[str] = []
        self._columns: set[str] = set()

    def __call__(self, column: str, what: str) -> None:
        if column not in self._columns:
            self.lines.append(f"row {self.number}: {column}: {what}")
            self._columns.add(column)

    def __contains__(self, column: str) -> bool:
        return column in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


def cells(number: int, header: list[str], values: list[str], problems: Problems) -> dict[str, str]:
    """The row's cells by column, stripped; a row longer than the header is a problem."""
    if len(values) > len(header):
        problems("(row)", f"has {len(values)} cells but the header has {len(header)} columns")
    return {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}


__all__ = ["ImportRefused", "DryRun", "Problems", "read", "cells", "check_header", "is_email", "is_phone",
           "same_name", "column_name", "MAX_BYTES", "EMAIL", "PHONE", "YES", "NO"]
