"""Printed letters (notices/pdf.py): every letter template, in English and Spanish, laid out as a PDF and
read back with pdfplumber: no placeholder, every value it prints present, the page numbers and the date
in the recipient's language, and the address (and only the reference, name and address) inside the
envelope window."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest

from engine.errors import InvalidInput
from notices import contexts, pdf, render

pdfplumber = pytest.importorskip("pdfplumber")

LETTERS = [t for t in render.all_templates() if t.endswith(".letter")]
DATED = date(2026, 3, 2)
HEAD = pdf.Letterhead("Victim Services Unit", ("Department of Community Corrections", "100 Main Street",
                                                "Springfield, IL 62701"))
ADDRESS = ("1200 W Jackson Blvd Apt 4", "Chicago, IL 60607")
VALUES = {
    "recipient_name": "María José Núñez", "case_number": "2026-CR-0042", "agency_name": "Victim Services Unit",
    "agency_phone": "1-800-555-0100", "sent_on": "lunes, 2 de marzo de 2026, 9:00 CST",
    "appointment": "miércoles, 15 de abril de 2026, 10:00 CDT", "details": "Cárcel del Condado de Cook",
    "previous": "martes, 14 de abril de 2026, 10:00 CDT", "process_ref": "dialogue #4", "state": "preparation",
    "items": ("harm", "contact"), "partner_name": "Refugio Seguro", "partner_phone": "1-800-555-0199",
    "partner_email": "intake@safeharbor.example", "partner_hours": "Mon-Fri 9-5", "partner_how": "call intake",
    "victim_name": "Ana Núñez", "victim_contact": "ana@example.org", "victim_language": "Spanish",
    "summary": "Needs help with housing.", "supervised_person": "Sam Supervised",
}
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{%|%\}|\bNone\b|\bUndefined\b|\bnan\b")


def sample(path: str) -> dict:
    return {name: VALUES[name] for name in contexts.field_names(path.split("/")[2])}


def flat(text: str) -> str:
    return " ".join(text.split())


def window_chars(page) -> list[dict]:
    """The glyphs on the envelope's side of the first page: the band the window can show, left of the
    window's right edge (the date sits to its right)."""
    x0, top, x1, bottom = pdf.WINDOW.points()
    return [c for c in page.chars if c["top"] < bottom + 18 and c["bottom"] > top - 18 and c["x0"] < x1]


def inside_window(chars: list[dict]) -> bool:
    x0, top, x1, bottom = pdf.WINDOW.points()
    return all(x0 <= c["x0"] and c["x1"] <= x1 and top <= c["top"] and c["bottom"] <= bottom for c in chars)


def lines_of(chars: list[dict]) -> list[str]:
    rows: dict[int, list[dict]] = {}
    for c in chars:
        rows.setdefault(round(c["top"]), []).append(c)
    return [flat("".join(c["text"] for c in sorted(row, key=lambda c: c["x0"]))) for _, row in sorted(rows.items())]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_letter_template_prints_complete_in_the_window_with_page_numbers(language):
    chosen = [t for t in LETTERS if t.startswith(f"{language}/")]
    assert len(chosen) > 60  # every process's letters, not a few
    documents, starts = [], []
    for n, path in enumerate(chosen):
        body = render.render(path, sample(path)).body
        letter = pdf.Letter(f"7K3F-{n:04d}", VALUES["recipient_name"], ADDRESS, language, DATED, body)
        starts.append(sum(len(d.pages) for d in documents))
        documents.append(pdf.render_letter(letter, HEAD))
    words = {"en": ("Page", "of", "March 2, 2026"), "es": ("Página", "de", "2 de marzo de 2026")}[language]
    with pdfplumber.open(io.BytesIO(pdf.combine(documents))) as printed:
        pages = printed.pages
        for n, (path, document) in enumerate(zip(chosen, documents)):
            count = len(document.pages)
            texts = [pages[starts[n] + i].extract_text() for i in range(count)]
            whole = flat(" ".join(texts))
            assert not PLACEHOLDER.search(whole), (path, PLACEHOLDER.search(whole))
            for name in render.undeclared_variables(path):
                value = VALUES[name]
                for part in (value if isinstance(value, tuple) else (value,)):
                    if name != "items":
                        # compared without spaces: a line may break after the hyphen of 2026-CR-0042
                        assert "".join(part.split()) in "".join(whole.split()), f"{path}: {name} ({part!r}) is missing"
            assert words[2] in texts[0], f"{path}: the date is not in {language}"
            for i, text in enumerate(texts, 1):
                assert f"{words[0]} {i} {words[1]} {count}" in text, f"{path} page {i}: no page number"
                assert f"Ref. 7K3F-{n:04d}" in text
            glyphs = window_chars(pages[starts[n]])
            assert inside_window(glyphs), f"{path}: a glyph of the address falls outside the window"
            assert lines_of(glyphs) == [f"Ref. 7K3F-{n:04d}", VALUES["recipient_name"], *ADDRESS], path
            for later in range(1, count):  # no address on the following pages
                assert not window_chars(pages[starts[n] + later]) or VALUES["recipient_name"] not in " ".join(
                    lines_of(window_chars(pages[starts[n] + later])))


def test_the_window_shows_nothing_of_the_case_and_the_body_starts_below_it():
    body = render.render("en/notification/victim/parole_hearing.letter", sample("x/notification/victim/x")).body
    document = pdf.render_letter(pdf.Letter("7K3F-9QX2", "Rosa Quill", ("12 Larch Lane", "Oakville, IL 60601"), "en",
                                            DATED, body), HEAD)
    with pdfplumber.open(io.BytesIO(document.write_pdf())) as printed:
        page = printed.pages[0]
        shown = " ".join(lines_of(window_chars(page))).lower()
        for word in ("parole", "victim", "offense", "case", "hearing", "2026-cr-0042", "corrections"):
            assert word not in shown, word
        below = [c for c in page.chars if c["top"] > pdf.WINDOW.bottom * 72 + 18]
        assert "parole" in flat("".join(c["text"] for c in below)).lower()  # the letter's text: below the window
        assert min(c["top"] for c in below) >= pdf.BODY_TOP * 72 - 2


def test_a_long_address_is_set_smaller_and_stays_in_the_window_and_one_too_long_is_refused():
    long = ("Apartment 1204, North Tower", "1234 North Martin Luther King Jr Boulevard East",
            "Building C, Unit 4", "Chicago Heights, IL 60411-1234", "United States of America")
    document = pdf.render_letter(pdf.Letter("7K3F-9QX2", "María José Núñez de la Fuente", long, "es", DATED,
                                            "Texto."), HEAD)
    with pdfplumber.open(io.BytesIO(document.write_pdf())) as printed:
        glyphs = window_chars(printed.pages[0])
        assert inside_window(glyphs) and lines_of(glyphs)[-1] == "United States of America"
        assert max(c["size"] for c in glyphs if c["text"] == "U") < pdf.ADDRESS_PT
    with pytest.raises(InvalidInput, match="at most 5"):
        pdf.fitted("Rosa", ("a", "b", "c", "d", "e", "f"), "en")
    with pytest.raises(InvalidInput, match="does not fit"):
        pdf.fitted("Rosa", ("x" * 90,), "en")


def test_no_address_on_file_says_by_hand_in_the_recipients_language():
    document = pdf.render_letter(pdf.Letter("7K3F-9QX2", "Oscar Officer", (), "es", DATED, "Texto."), HEAD)
    with pdfplumber.open(io.BytesIO(document.write_pdf())) as printed:
        assert "Entrega en mano" in " ".join(lines_of(window_chars(printed.pages[0])))


def test_a_long_letter_runs_on_numbered_pages_and_large_print_is_larger():
    body = "\n\n".join(f"Párrafo {n}: " + "la misma frase otra vez, " * 12 for n in range(40))
    letter = pdf.Letter("7K3F-9QX2", "Rosa Quill", ADDRESS, "es", DATED, body)
    normal = pdf.render_letter(letter, HEAD)
    large = pdf.render_letter(letter, pdf.Letterhead(HEAD.name, HEAD.return_lines, large_print=True))
    assert 2 <= len(normal.pages) < len(large.pages)
    with pdfplumber.open(io.BytesIO(large.write_pdf())) as printed:
        last = printed.pages[-1]
        assert f"Página {len(large.pages)} de {len(large.pages)}" in last.extract_text()
        sizes = {round(c["size"]) for c in last.chars if c["text"].isalpha() and c["top"] < 700}
        assert pdf.LARGE_PRINT_PT in sizes


def test_names_print_as_typed_and_nothing_but_the_logo_is_loaded(tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 60), (20, 60, 120)).save(logo)
    body = '<img src="file:///etc/passwd"> <script>x</script> {{ 7*7 }}'
    head = pdf.Letterhead("Victim Services Unit", ("100 Main Street",), logo=logo)
    document = pdf.render_letter(pdf.Letter("7K3F-9QX2", "<b>Rosa</b>", ADDRESS, "en", DATED, body), head)
    with pdfplumber.open(io.BytesIO(document.write_pdf())) as printed:
        page = printed.pages[0]
        assert "<b>Rosa</b>" in page.extract_text() and '<img src="file:///etc/passwd">' in page.extract_text()
        assert len(page.images) == 1 and page.images[0]["bottom"] < pdf.WINDOW.top * 72  # the logo, in the letterhead


def test_a_missing_logo_prints_without_it_and_says_so():
    problems: list[str] = []
    settings = {"agency.name": "Victim Services Unit", "letters.letterhead_name": "", "letters.return_address": "A; B",
                "letters.logo_file": "/nonexistent/logo.png", "letters.large_print": "no"}
    head = pdf.letterhead(settings, problems)
    assert head.logo is None and head.return_lines == ("A", "B") and "cannot be read" in problems[0]


@pytest.mark.parametrize("path", [t for t in render.all_templates() if "/intimidation/" in t and not t.endswith(".sms")])
def test_each_label_of_an_intimidation_notice_is_on_its_own_line(path):
    """Seen on a printed page: "By whom: not knownHow it reached them" (a block tag ate the line's end)."""
    values = {**sample(path), "items": ("by_supervised_person", "via_text")}
    text = render.render(path, values).body
    labels = ("By whom:", "How it reached them:") if path.startswith("en/") else ("Por quién:", "Cómo le llegó:")
    if labels[0] in text:
        lines = text.splitlines()
        assert any(line.startswith(labels[0]) and labels[1] not in line for line in lines), text
        assert any(line.startswith(labels[1]) and line.rstrip().endswith("text") for line in lines), text
