"""PDF versions of an issue: its content laid out for print and tagged for accessibility.

``render_pdf(issue, language, workspace)`` fills ``templates/pdf/<kind>.html`` (Jinja,
autoescaped) with the same context the email templates get (release status or embargo,
dateline, media contacts, boilerplate, ...) and turns it into a PDF/UA-1 file with WeasyPrint:
the organisation's letterhead on the first page, the release status and page numbers on every
page, "-30-" after a communiqué's body. Its own strings are in ``templates/pdf/i18n.yaml``.

Nothing is fetched. Fonts come from the system through fontconfig (Debian's DejaVu or
Liberation); the URL fetcher serves only ``data:`` URLs and the files of the PDF templates
folder (a ``logo.svg`` or ``logo.png`` put there, or ``logo-<identity>.svg`` for an issue that
speaks for an identity), and refuses any other address, so the brand's logo on the web or an
article's image is left out rather than downloaded.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2

import newsletter
from newsletter.config import Workspace
from newsletter.content.model import Issue, Language
from newsletter.errors import RenderError, TemplateError
from newsletter.render import typography
from newsletter.render.context import communique_context, infolettre_context
from newsletter.render.i18n import Translator, load_translations, long_date
from newsletter.render.markup import host, markdown_to_html, tel

PDF_FOLDER = "pdf"
CONTENT_TYPE = "application/pdf"
#: The logo files the letterhead looks for in the PDF templates folder, in this order; an issue
#: that speaks for an identity looks for ``logo-<identity>.svg`` or ``.png`` instead.
LOGO_FILES = ("logo.svg", "logo.png")


def pdf_templates_dir(workspace: Workspace) -> Path:
    """The workspace's ``templates/pdf``, else the one shipped with the package (a workspace
    made before PDFs existed has none)."""
    own = workspace.templates_dir / PDF_FOLDER
    if (own / "communique.html").is_file():
        return own
    package = Path(newsletter.__file__).resolve().parent
    for candidate in (package / "skeleton" / "templates" / PDF_FOLDER,
                      package.parent / "templates" / PDF_FOLDER):  # fmt: skip
        if (candidate / "communique.html").is_file():
            return candidate
    raise RenderError(f"{own}: the PDF templates are missing (communique.html, infolettre.html)")


def pdf_filename(slug: str, language: str) -> str:
    return f"{slug}.{language}.pdf"


def render_pdf(issue: Issue, language: Language, workspace: Workspace, *, note: str = "") -> bytes:
    """The PDF of ``issue`` in ``language``; ``note`` is printed at the top of every page (a
    draft's warning, say)."""
    html, folder = pdf_html(issue, language, workspace, note=note)
    return html_to_pdf(html, folder)


def pdf_html(
    issue: Issue, language: Language, workspace: Workspace, *, note: str = ""
) -> tuple[str, Path]:
    """The HTML the PDF is made from, and the folder its relative URLs are read from."""
    if language not in issue.languages:
        raise RenderError(
            f"{issue.source_path or issue.slug}: no {language!r} edition "
            f"(languages: {', '.join(issue.languages)})"
        )
    folder = pdf_templates_dir(workspace)
    if issue.kind == "communique":
        context = communique_context(issue, language, workspace)
        edition = issue.edition(language)
        context["body_html"] = markdown_to_html(getattr(edition, "body", ""))
    else:
        context = infolettre_context(issue, language, workspace)
    settings = workspace.settings
    context.update(
        p=Translator(load_translations(folder), language),
        note=note,
        logo=_logo(folder, issue.identity),
        issue_date=long_date(issue.date, language, settings.timezone),
        created=issue.date.isoformat(),
        title=_title(issue, language),
        public_base_url=settings.public_base_url.rstrip("/"),
    )
    html = _render(folder, f"{issue.kind}.html", context)
    if language == "fr":
        html = typography.french_html(html, settings.typography.french_punctuation_space)
    return html, folder


def _logo(folder: Path, identity: str | None) -> str:
    names: tuple[str, ...] = LOGO_FILES
    if identity is not None:
        names = tuple(name.replace("logo", f"logo-{identity}", 1) for name in LOGO_FILES)
    return next((name for name in names if (folder / name).is_file()), "")


def _title(issue: Issue, language: Language) -> str:
    edition = issue.edition(language)
    return str(getattr(edition, "headline", "") or getattr(edition, "title", "") or edition.subject)


@lru_cache(maxsize=4)
def _environment(folder: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["markdown"] = markdown_to_html
    env.filters["tel"] = tel
    env.filters["host"] = host
    env.filters["css_string"] = _css_string
    env.filters["date"] = _date_filter
    return env


@jinja2.pass_context
def _date_filter(context: jinja2.runtime.Context, value: date | datetime) -> str:
    return long_date(value, context["lang"], context["timezone"])


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal's inside (for ``content:`` in the page margins)."""
    return "".join(
        c if c.isprintable() and c not in '"\\' else f"\\{ord(c):x} " for c in str(text)
    )


def _render(folder: Path, name: str, context: Mapping[str, Any]) -> str:
    try:
        return _environment(folder.resolve()).get_template(name).render(context)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"{PDF_FOLDER}/{err.name or name}", str(err.message),
                            line=err.lineno) from err  # fmt: skip
    except jinja2.TemplateNotFound as err:
        raise RenderError(f"{folder / str(err.name)}: PDF template missing") from err
    except jinja2.UndefinedError as err:
        raise TemplateError(f"{PDF_FOLDER}/{name}", str(err)) from err


def html_to_pdf(html: str, folder: Path) -> bytes:
    """A tagged PDF (PDF/UA-1) of ``html``; relative URLs are read from ``folder`` only."""
    # Imported here: WeasyPrint loads Pango and its fonts, which no other command needs.
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=folder.resolve().as_uri() + "/",
                               url_fetcher=_local_fetcher(folder))  # fmt: skip
    data: bytes = document.write_pdf(pdf_variant="pdf/ua-1")
    return data


_REFUSED = "not fetched (a PDF reads no address but its own folder)"


def _local_fetcher(folder: Path) -> Any:
    """A URL fetcher that serves data: URLs and the files under ``folder``, nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = folder.resolve()

    class LocalOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if path.is_relative_to(root) and path.is_file():
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})
            raise ValueError(f"{_REFUSED}: {url}")

    return LocalOnly()


class _DropRefusals(logging.Filter):
    """WeasyPrint logs each URL it could not load; ours are refused on purpose (an image on the
    web is left out of the PDF), so those records are dropped, and only those."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return _REFUSED not in record.getMessage()
        except (TypeError, ValueError):
            return True


_weasyprint_log = logging.getLogger("weasyprint")
if not any(isinstance(f, _DropRefusals) for f in _weasyprint_log.filters):
    _weasyprint_log.addFilter(_DropRefusals())
