"""A local preview server: an issue's languages at desktop (600 px) and mobile (375 px) widths.

Served on 127.0.0.1 only. The issue file is read and rendered again on every page, so an edit
shows on reload; an error is shown in the page instead of stopping the server.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from newsletter.config import Workspace
from newsletter.content.issues import load_issue
from newsletter.errors import NewsletterError
from newsletter.render import render_issue
from newsletter.workspace import preview_fields

WIDTHS = (("desktop", 600), ("mobile", 375))


def preview_page(issue_file: Path, workspace: Workspace, path: str) -> tuple[int, str, str]:
    """(status, content type, body) for one request path of the preview."""
    try:
        issue = load_issue(issue_file, workspace.settings)
        if path in ("/", "/index.html"):
            return HTTPStatus.OK, "text/html; charset=utf-8", _index(issue.slug, issue.languages)
        name, _, ext = path.lstrip("/").rpartition(".")
        language = next((code for code in issue.languages if code == name), None)
        if language is not None and ext in ("html", "txt"):
            rendered = render_issue(issue, language, workspace)
            filled = rendered.personalization.fill(preview_fields(workspace, issue, rendered))
            if ext == "html":
                return HTTPStatus.OK, "text/html; charset=utf-8", filled.html
            return HTTPStatus.OK, "text/plain; charset=utf-8", filled.text
        return HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", f"no page {path}"
    except NewsletterError as err:
        page = f"<!doctype html><title>Error</title><pre>{html.escape(str(err))}</pre>"
        return HTTPStatus.UNPROCESSABLE_ENTITY, "text/html; charset=utf-8", page


def _index(slug: str, languages: Sequence[str]) -> str:
    rows = []
    for lang in languages:
        frames = "".join(
            f'<figure><figcaption>{label} ({width} px) · <a href="/{lang}.txt">text</a>'
            f'</figcaption><iframe title="{label} {lang}" src="/{lang}.html" '
            f'style="width:{width}px;height:1400px;border:1px solid #999"></iframe></figure>'
            for label, width in WIDTHS
        )
        rows.append(f'<section lang="{lang}"><h2>{lang}</h2><div class="row">{frames}</div>')
        rows.append("</section>")
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>Preview: {html.escape(slug)}</title>"
        "<style>body{font-family:sans-serif;margin:1rem}.row{display:flex;gap:2rem;"
        "align-items:flex-start}figure{margin:0}</style></head><body>"
        f"<h1>{html.escape(slug)}</h1>{''.join(rows)}</body></html>"
    )


def make_server(issue_file: Path, workspace: Workspace, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = preview_page(issue_file, workspace, self.path)
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def serve_preview(
    issue_file: Path, workspace: Workspace, *, port: int, announce: Callable[[str], object]
) -> None:
    server = make_server(issue_file, workspace, port)
    announce(f"Preview of {issue_file} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
