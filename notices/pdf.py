"""Printed letters: a .letter template's text laid out as a PDF page a mail room can print and fold.

``render_letter(letter, head)`` is pure: the text a notice was rendered to (``notices.render``, the same
Jinja templates as the text file) goes into ``layout/letter.html``, and WeasyPrint (HTML and CSS to PDF,
through Pango) lays it out: the agency's letterhead and return address, the recipient's address where a
US #10 window envelope shows it, the date in the recipient's language, page numbers, and an opaque
reference. ``combine`` makes one print file of many letters, each starting on a new sheet.

The envelope window's geometry lives here and only here (``WINDOW``, ``ADDRESS``): the layout reads it,
and tests/test_letter_pdf.py checks every printed address glyph falls inside ``WINDOW``.

Nothing is ever fetched: the only file a letter may load is the agency's logo (``url_fetcher``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

from engine.errors import InvalidInput, RenderError

LAYOUT = Path(__file__).parent / "layout"


@dataclass(frozen=True)
class Rect:
    """A rectangle on the page in inches from its top-left corner."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return round(self.right - self.left, 4)

    @property
    def height(self) -> float:
        return round(self.bottom - self.top, 4)

    def points(self) -> tuple[float, float, float, float]:
        """(x0, top, x1, bottom) in PDF points (1/72 in), as pdfplumber measures characters."""
        return (self.left * 72, self.top * 72, self.right * 72, self.bottom * 72)


# A US #10 window envelope (9.5 x 4.125 in): its window is 4.5 x 1.125 in, 7/8 in from the left edge and
# 1/2 in from the bottom. A letter-size sheet folded in thirds shows, through it, the area of the page
# below: 0.875-5.375 in from the left, 2.0-3.2 in from the top (the sheet can slide about 1/8 in
# inside the envelope, so the address is set inside this area with a margin on every side).
WINDOW = Rect(left=0.875, top=2.0, right=5.375, bottom=3.2)
ADDRESS = Rect(left=1.0, top=2.1, right=5.25, bottom=3.1)  # where the address block is set
PAGE_MARGINS = {"top": 0.5, "right": 0.9, "bottom": 0.9, "left": 0.875}
BODY_TOP = 3.55  # the letter's text starts below the window, so no word of it shows on the envelope
LETTERHEAD_HEIGHT = 1.35  # from the top margin: ends at 1.85 in, above the window
ADDRESS_LINES = 6  # the name and five lines (a reference line above them, smaller)
ADDRESS_PT = 10.0
SMALLEST_ADDRESS_PT = 7.0  # below this the post office's readers and people struggle
BODY_PT, LARGE_PRINT_PT = 11.0, 16.0
LINE_HEIGHT = 1.2  # of the address lines (the layout's line-height)
REF_LINE_PT = 11.0  # the reference line above the name: 7 pt, its line height and a gap

WORDS = {
    "en": {"ref": "Ref.", "page": "Page", "of": "of", "by_hand": "By hand: no postal address on file"},
    "es": {"ref": "Ref.", "page": "Página", "of": "de", "by_hand": "Entrega en mano: no hay dirección postal"},
}


@dataclass(frozen=True)
class Letterhead:
    """The agency's letterhead (settings ``letters.*``)."""

    name: str
    return_lines: tuple[str, ...]
    logo: Optional[Path] = None
    large_print: bool = False


@dataclass(frozen=True)
class Letter:
    """One letter to print. ``address`` is the postal address's lines (empty: no address on file)."""

    reference: str
    recipient_name: str
    address: tuple[str, ...]
    language: str
    dated: date
    body: str
    warnings: list[str] = field(default_factory=list, compare=False)


def address_lines(name: str, address: Optional[str]) -> tuple[str, ...]:
    """The lines of a postal address typed with newlines (or ``;`` or ``,`` between lines)."""
    if not address:
        return ()
    parts = re.split(r"\n|;", address) if ("\n" in address or ";" in address) else [address]
    return tuple(" ".join(p.split()) for p in parts if p.strip())


def fitted(name: str, address: Sequence[str], language: str) -> tuple[tuple[str, ...], float]:
    """The window's lines and the font size that fits them in ``ADDRESS``; refused if none does."""
    lines = (" ".join(name.split()), *address) if address else (" ".join(name.split()), WORDS[_lang(language)]["by_hand"])
    if len(lines) > ADDRESS_LINES:
        raise InvalidInput(f"the address has {len(lines) - 1} lines; an envelope window takes at most "
                           f"{ADDRESS_LINES - 1} below the name")
    longest = max(len(line) for line in lines)
    # DejaVu Sans averages about 0.6 em a character: the widest size at which the longest line fits.
    size = min(ADDRESS_PT, ADDRESS.width * 72 / (0.62 * max(longest, 1)),
               (ADDRESS.height * 72 - REF_LINE_PT) / (LINE_HEIGHT * len(lines)))
    if size < SMALLEST_ADDRESS_PT:
        raise InvalidInput(f"an address line of {longest} characters does not fit an envelope window")
    return lines, round(size, 2)


def _lang(language: str) -> str:
    return language if language in WORDS else "en"


def dated_text(day: date, language: str) -> str:
    """The letter's date as the recipient reads it ("3 de marzo de 2026")."""
    from babel.dates import format_date

    return format_date(day, "long", locale=_lang(language))


def paragraphs(body: str) -> list[list[str]]:
    """The text's paragraphs (split at blank lines), each a list of its lines."""
    blocks = re.split(r"\n\s*\n", body.strip())
    return [[line.rstrip() for line in block.splitlines()] for block in blocks if block.strip()]


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(str(LAYOUT)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def html(letter: Letter, head: Letterhead) -> str:
    """The letter as HTML (autoescaped: a name such as ``<b>`` prints as it is)."""
    lines, size = fitted(letter.recipient_name, letter.address, letter.language)
    page = dict(PAGE_MARGINS, body_top=BODY_TOP)
    return _environment().get_template("letter.html").render(
        language=_lang(letter.language), reference=letter.reference, words=WORDS[_lang(letter.language)],
        page=page, head={"height": LETTERHEAD_HEIGHT, "logo_height": LETTERHEAD_HEIGHT - 0.35},
        block={"left": ADDRESS.left, "top": ADDRESS.top, "width": ADDRESS.width, "height": ADDRESS.height},
        address=lines, address_pt=size, dated=dated_text(letter.dated, letter.language),
        letterhead_name=head.name, return_lines=head.return_lines,
        logo=head.logo.resolve().as_uri() if head.logo else "",
        body_pt=LARGE_PRINT_PT if head.large_print else BODY_PT, paragraphs=paragraphs(letter.body))


def _fetcher(logo: Optional[Path]):
    """Only the agency's logo may be loaded; any other address a letter names is refused."""
    from weasyprint.urls import URLFetcher

    allowed = logo.resolve().as_uri() if logo else None

    class LogoOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if allowed and url == allowed:
                return super().fetch(url, headers)
            raise ValueError(f"a letter loads nothing but the agency's logo (asked for {url[:60]!r})")

    return LogoOnly(allowed_protocols=("file",), allow_redirects=False)


def render_letter(letter: Letter, head: Letterhead):
    """The letter laid out: a WeasyPrint ``Document`` (``.pages``; ``.write_pdf()``)."""
    from weasyprint import HTML

    try:
        return HTML(string=html(letter, head), url_fetcher=_fetcher(head.logo), base_url=str(LAYOUT)).render()
    except InvalidInput:
        raise
    except Exception as exc:  # a layout engine failure names no recipient: only the reference
        raise RenderError(f"letter {letter.reference} could not be laid out: {type(exc).__name__}") from None


def pdf_bytes(document) -> bytes:
    return document.write_pdf()


def combine(documents: Sequence) -> bytes:
    """One print file: every page of every letter, in order (each letter starts on its own sheet)."""
    first = documents[0]
    pages = [page for document in documents for page in document.pages]
    return first.copy(pages).write_pdf()


def letterhead(settings, logo_problem: Optional[list[str]] = None) -> Letterhead:
    """The letterhead the settings describe. A logo file that is missing or unreadable is left out
    (and said in ``logo_problem``): a letter must not wait for a picture."""
    name = settings.get("letters.letterhead_name") or settings["agency.name"]
    lines = tuple(p.strip() for p in (settings.get("letters.return_address") or "").split(";") if p.strip())
    logo = None
    path = settings.get("letters.logo_file") or ""
    if path:
        candidate = Path(path)
        if candidate.is_file() and _readable(candidate):
            logo = candidate
        elif logo_problem is not None:
            logo_problem.append(f"the logo file {path} (setting letters.logo_file) cannot be read; "
                                "letters were printed without it")
    return Letterhead(name=name, return_lines=lines, logo=logo, large_print=settings.get("letters.large_print") == "yes")


def _readable(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.read(16)
        return True
    except OSError:
        return False


__all__ = ["ADDRESS", "Letter", "Letterhead", "Rect", "WINDOW", "address_lines", "combine", "dated_text", "fitted",
           "html", "letterhead", "paragraphs", "pdf_bytes", "render_letter"]
