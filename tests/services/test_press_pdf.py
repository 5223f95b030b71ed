"""PDF versions: opened as pages (pypdfium2), tagged, with letterhead, release status or
embargo, page numbers and "-30-"; made from the approved revision once and kept; nothing
fetched from the network."""

from __future__ import annotations

import ctypes
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from newsletter.config import Workspace
from newsletter.content.issues import load_issue
from newsletter.errors import Invalid
from newsletter.render import pdf as pdf_module
from newsletter.render.pdf import pdf_templates_dir, render_pdf
from newsletter.services import issues, pdfs
from newsletter.services.core import Core, terminal_actor

ME = terminal_actor()
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"
INFOLETTRE = "issues/2025-05-06-infolettre.yaml"


@dataclass
class Opened:
    """A PDF opened as a reader would: its pages' text, its metadata, its tags."""

    pages: list[str]
    title: str
    language: str
    tagged: bool
    structure: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


def open_pdf(data: bytes) -> Opened:
    assert data.startswith(b"%PDF-")
    document = pdfium.PdfDocument(data)
    pages, structure = [], []
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            tree = pdfium_raw.FPDF_StructTree_GetForPage(page)
            for child in range(pdfium_raw.FPDF_StructTree_CountChildren(tree)):
                _walk(pdfium_raw.FPDF_StructTree_GetChildAtIndex(tree, child), structure)
            pdfium_raw.FPDF_StructTree_Close(tree)
            page.close()
        buffer = (ctypes.c_ushort * 100)()
        size = pdfium_raw.FPDFCatalog_GetLanguage(document, buffer, ctypes.sizeof(buffer))
        language = bytes(buffer)[:size].decode("utf-16-le").rstrip("\0")
        title = document.get_metadata_dict().get("Title", "")
        tagged = bool(pdfium_raw.FPDFCatalog_IsTagged(document))
    finally:
        document.close()
    return Opened(pages, title, language, tagged, structure)


def _walk(element: object, into: list[str]) -> None:
    buffer = ctypes.create_string_buffer(200)
    size = pdfium_raw.FPDF_StructElement_GetType(element, buffer, 200)
    into.append(buffer.raw[:size].decode("utf-16-le").rstrip("\0"))
    for index in range(pdfium_raw.FPDF_StructElement_CountChildren(element)):
        child = pdfium_raw.FPDF_StructElement_GetChildAtIndex(element, index)
        if child:
            _walk(child, into)


def plain(text: str) -> str:
    for fancy, simple in (("\xa0", " "), ("\u202f", " "), ("\u2019", "'"), ("\r", "")):
        text = text.replace(fancy, simple)
    return text


def test_the_communique_pdf_in_each_language(workspace: Workspace) -> None:
    issue = load_issue(workspace.root / COMMUNIQUE, workspace.settings)
    french = open_pdf(render_pdf(issue, "fr", workspace))
    assert french.tagged and french.language == "fr"
    assert french.title == "La société civile a un plan pour les négociations de l'ALÉNA"
    assert {"H1", "H2", "P", "L", "Link"} <= set(french.structure)
    assert len(french.pages) == 2
    first, last = plain(french.pages[0]), plain(french.pages[-1])
    # The letterhead, the release status, the dateline, on the first page ...
    # The example communiqué speaks for the RQIC (its identity): its letterhead is the RQIC's.
    assert first.startswith("Réseau québécois sur l'intégration continentale\n1000, rue Exemple")
    assert "POUR DIFFUSION IMMÉDIATE" in first and "Montréal, le 30 mai 2017 –" in first
    # ... the page numbers on each, "-30-" after the body, then the contacts and boilerplate.
    assert "Page 1 de 2" in first and "Page 2 de 2" in last
    assert "POUR DIFFUSION IMMÉDIATE" in last  # runs at the top of the following pages
    end = plain(french.text)
    assert end.index("-30-") < end.index("Renseignements") < end.index("À propos du RQIC")
    assert "camille.tremblay@example.org" in end and "(FR, ANG)" in end
    english = open_pdf(render_pdf(issue, "en", workspace))
    assert english.language == "en" and "FOR IMMEDIATE RELEASE" in english.pages[0]
    assert "Page 1 of 2" in english.pages[0] and "Media contacts:" in english.text


def test_an_embargo_is_printed_in_the_configured_zone(workspace: Workspace) -> None:
    path = workspace.root / COMMUNIQUE
    path.write_text(path.read_text("utf-8").replace(
        "release: immediate", "release: {embargo_until: 2026-11-01T01:30:00-05:00}"), "utf-8")
    issue = load_issue(path, workspace.settings)
    french = plain(open_pdf(render_pdf(issue, "fr", workspace)).text)
    assert "SOUS EMBARGO JUSQU'AU 1 novembre 2026 à 01 h 30 HNE" in french
    english = plain(open_pdf(render_pdf(issue, "en", workspace)).text)
    assert "EMBARGOED UNTIL November 1, 2026, 1:30 a.m. EST" in english


def test_the_infolettre_pdf(workspace: Workspace) -> None:
    issue = load_issue(workspace.root / INFOLETTRE, workspace.settings)
    opened = open_pdf(render_pdf(issue, "fr", workspace))
    text = plain(opened.text)
    assert opened.tagged and opened.language == "fr" and opened.title == "Infolettre"
    assert "6 mai 2025" in text and "À la une" in text
    assert "Les projets soutenus par l'ASTM en 2012" in text and "Articles récents" in text
    assert "Page 1 de" in text and "-30-" not in text


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    _Recorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_nothing_is_fetched_but_the_pdf_folder(workspace: Workspace, web_server: str) -> None:
    path = workspace.root / COMMUNIQUE
    text = path.read_text("utf-8").replace(
        "    body: |\n",
        f"    body: |\n      ![Photo]({web_server}/photo.png) [lien]({web_server}/page)\n\n", 1)
    path.write_text(text, "utf-8")
    folder = workspace.root / "templates" / "pdf"
    css = folder / "pdf.css"
    css.write_text(css.read_text("utf-8") + f'\n@import url("{web_server}/font.css");\n'
                   f'@font-face {{ font-family: X; src: url("{web_server}/x.woff2"); }}\n', "utf-8")
    issue = load_issue(path, workspace.settings)
    opened = open_pdf(render_pdf(issue, "fr", workspace))
    assert "Plus de 300 personnes" in opened.text
    assert _Recorder.hits == []
    fetcher = pdf_module._local_fetcher(folder)
    for url in (f"{web_server}/a.png", "https://www.example.org/logo.png",
                (workspace.root / "newsletter.toml").as_uri(), "file:///etc/passwd"):
        with pytest.raises(ValueError, match="not fetched"):
            fetcher.fetch(url)
    assert fetcher.fetch(css.as_uri()).read().startswith(b"/*")


def test_a_logo_in_the_pdf_folder_is_the_letterhead(workspace: Workspace) -> None:
    folder = workspace.root / "templates" / "pdf"
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
           '<rect width="120" height="40" fill="#c8102e"/></svg>')  # fmt: skip
    (folder / "logo.svg").write_text(svg, "utf-8")
    infolettre = load_issue(workspace.root / INFOLETTRE, workspace.settings)
    html, used = pdf_module.pdf_html(infolettre, "fr", workspace)
    assert used == folder and '<img class="logo" src="logo.svg"' in html
    assert 'alt="Logo de la Confédération exemple"' in html
    # A communiqué that speaks for an identity takes that identity's logo, or none.
    communique = load_issue(workspace.root / COMMUNIQUE, workspace.settings)
    assert communique.identity == "rqic"
    assert "<img" not in pdf_module.pdf_html(communique, "fr", workspace)[0]
    (folder / "logo-rqic.png").write_bytes(_png())
    html = pdf_module.pdf_html(communique, "en", workspace)[0]
    assert '<img class="logo" src="logo-rqic.png" alt="RQIC logo">' in html
    assert open_pdf(render_pdf(communique, "fr", workspace)).tagged


def _png() -> bytes:
    """A 2x2 red PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\xc8\x10\x2e" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_workspace_without_pdf_templates_uses_the_shipped_ones(workspace: Workspace) -> None:
    shutil.rmtree(workspace.root / "templates" / "pdf")
    shipped = pdf_templates_dir(workspace)
    assert shipped != workspace.root / "templates" / "pdf" and (shipped / "pdf.css").is_file()


def test_the_approved_revision_pdf_is_made_once_and_kept(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = issues.import_file(core, ME, core.workspace.root / COMMUNIQUE)
    draft = pdfs.issue_pdfs(core, ME, saved.slug, language="fr")
    assert [(d.language, d.filename, d.approved) for d in draft] == [
        ("fr", f"{saved.slug}.fr.pdf", False)]
    assert "Brouillon : révision 1, non approuvée" in plain(open_pdf(draft[0].data).pages[0])
    issues.approve(core, ME, saved.slug)
    made = pdfs.issue_pdfs(core, ME, saved.slug)
    assert [(m.language, m.revision, m.approved) for m in made] == [("fr", 1, True),
                                                                     ("en", 1, True)]
    assert "Brouillon" not in open_pdf(made[0].data).text

    def no_render(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("rendered again")

    monkeypatch.setattr(pdfs, "render_pdf", no_render)
    again = pdfs.issue_pdfs(core, ME, saved.slug)
    assert [a.data for a in again] == [m.data for m in made]
    with pytest.raises(Invalid, match="written in fr, en"):
        pdfs.issue_pdfs(core, ME, saved.slug, language="de")
