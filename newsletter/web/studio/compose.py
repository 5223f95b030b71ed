"""Compose an infolettre: texts per language, featured articles picked from the library and
put in order with buttons (no script needed), recent-news settings; saved as a revision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.errors import IssueFileError, NewsletterError, ServiceError
from newsletter.services import compose
from newsletter.services.compose import EditionDraft, InfolettreDraft
from newsletter.web.studio.base import PREFIX, Page, back, checked_form, field, signed_in

router = APIRouter()
FIELDS = ("subject", "preheader", "title", "intro")


def _draft(form: Mapping[str, Any]) -> InfolettreDraft:
    editions = {
        lang: EditionDraft(**{name: field(form, f"{lang}_{name}") for name in FIELDS})
        for lang in compose.LANGUAGES
        if field(form, f"lang_{lang}") == "on"
    }
    featured = [v for v in form.getlist("featured") if isinstance(v, str)]  # type: ignore[attr-defined]
    return InfolettreDraft(
        slug=field(form, "slug"), date=field(form, "date"), editions=editions,
        featured=list(dict.fromkeys(featured)),
        recent_count=_number(field(form, "recent_count"), 8, 1, 100),
        recent_days=_number(field(form, "recent_days"), 30, 1, 3660),
    )  # fmt: skip


def _number(text: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text), low), high)
    except ValueError:
        return default


def _field_of(error: IssueFileError) -> str:
    """The form field a document error is about, so it is shown beside it."""
    path = (error.field or "").split(".")
    if path[:1] == ["languages"] and len(path) >= 3 and path[2] in FIELDS:
        return f"{path[1]}_{path[2]}"
    if path[:1] == ["languages"] and len(path) == 2:
        return f"{path[1]}_subject"
    return path[0] if path and path[0] in ("slug", "date", "featured", "recent") else "form"


def _page(page: Page, draft: InfolettreDraft, *, errors: dict[str, str] | None = None,
          refresh: bool = False, status_code: int = 200) -> HTMLResponse:  # fmt: skip
    found = compose.library(page.core, page.actor, refresh=refresh)
    by_url = {item.key: item for item in found}
    chosen = [by_url[url] for url in draft.featured if url in by_url]
    return page.render("compose.html", draft=draft, library=found, chosen=chosen,
                       errors=errors or {}, fields=FIELDS,
                       status_code=status_code)  # fmt: skip


@router.get(f"{PREFIX}/compose", response_class=HTMLResponse)
def compose_form(request: Request) -> HTMLResponse:
    page = Page(request, signed_in(request))
    draft = InfolettreDraft(editions={"fr": EditionDraft(), "en": EditionDraft()})
    return _page(page, draft)


@router.post(f"{PREFIX}/compose", response_class=HTMLResponse)
async def compose_post(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session.csrf)
    page = Page(request, session)
    draft = _draft(form)
    op = field(form, "op")
    if op != "save":
        # The form's own buttons: pick, drop and order articles; nothing is saved yet.
        verb, _, arg = op.partition(":")
        items = draft.featured
        if verb == "add" and arg not in items:
            items.append(arg)
        elif verb == "remove" and arg.isdigit() and int(arg) < len(items):
            items.pop(int(arg))
        elif verb in ("up", "down") and arg.isdigit():
            i = int(arg)
            j = i - 1 if verb == "up" else i + 1
            if 0 <= i < len(items) and 0 <= j < len(items):
                items[i], items[j] = items[j], items[i]
        return _page(page, draft, refresh=verb == "refresh")
    try:
        saved = compose.save(page.core, page.actor, draft)
    except IssueFileError as err:
        return _page(page, draft, errors={_field_of(err): err.detail}, status_code=400)
    except ServiceError as err:
        return _page(page, draft, errors={err.field or "form": str(err)}, status_code=400)
    except NewsletterError as err:
        return _page(page, draft, errors={"form": str(err)}, status_code=400)
    return back(f"{PREFIX}/issues/{saved.slug}", done="saved")
