"""The preference centre: language, list memberships, and unsubscribing from everything.

Reached through a signed link naming the subscriber, so the page needs no login and its form
cannot be replayed against anyone else. A list ticked here records express consent with the
wording the page showed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from newsletter.audience.links import read_preferences_token
from newsletter.audience.preferences import (
    get_subscriber_by_id,
    list_choices,
    update_preferences,
)
from newsletter.audience.subscriptions import unsubscribe
from newsletter.errors import AudienceError, SuppressedError, TokenError
from newsletter.web.context import WebContext, client_ip, web
from newsletter.web.errors import BadLink
from newsletter.web.i18n import LANGUAGES, translate

router = APIRouter()

SAVE = "save"
UNSUBSCRIBE_ALL = "unsubscribe-all"


def _subscriber_id(ctx: WebContext, token: str) -> int:
    try:
        return read_preferences_token(token, key=ctx.key, now=ctx.clock())
    except TokenError as err:
        raise BadLink(str(err)) from err


def _page(
    request: Request, ctx: WebContext, subscriber_id: int, *, language: str | None = None,
    notice: str = "", error: str = "", status: int = 200,
) -> HTMLResponse:  # fmt: skip
    with ctx.store.session() as session:
        try:
            subscriber = get_subscriber_by_id(session, subscriber_id)
        except AudienceError as err:
            raise BadLink(str(err)) from err
        choices = list_choices(session, subscriber_id, ctx.public_lists)
        email, known = subscriber.email, subscriber.language
    shown = language or ctx.language(request, known)
    return ctx.page(
        request, "preferences.html", shown, status=status, email=email, current=known,
        choices=choices, notice=notice, error=error, action=request.url.path,
    )  # fmt: skip


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(request: Request, token: str) -> HTMLResponse:
    ctx = web(request)
    return _page(request, ctx, _subscriber_id(ctx, token))


@router.post("/preferences/{token}", response_class=HTMLResponse)
def preferences_post(
    request: Request,
    token: str,
    action: Annotated[str, Form(max_length=20)] = SAVE,
    language: Annotated[str, Form(max_length=8)] = "",
    lists: Annotated[list[str] | None, Form()] = None,
    page_lang: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    ctx = web(request)
    subscriber_id = _subscriber_id(ctx, token)
    shown = page_lang if page_lang in LANGUAGES else ctx.language(request)
    now = ctx.clock()
    source = f"{ctx.base_url}/preferences"
    everything = action == UNSUBSCRIBE_ALL
    try:
        with ctx.store.session() as session:
            try:
                subscriber = get_subscriber_by_id(session, subscriber_id)
            except AudienceError as err:
                raise BadLink(str(err)) from err
            if everything:
                unsubscribe(session, subscriber.email, None, source=source, now=now)
            else:
                update_preferences(
                    session, subscriber_id,
                    language=language if language in LANGUAGES else subscriber.language,
                    wanted=set(lists or []), public=ctx.public_lists, source=source,
                    wording=translate(shown, "preferences_consent", name=ctx.settings.brand.name),
                    ip=client_ip(request), now=now,
                )  # fmt: skip
    except SuppressedError:
        return _page(request, ctx, subscriber_id, error="error_suppressed_join", status=400)
    except AudienceError:  # a list that is not offered: a forged or stale form
        return _page(request, ctx, subscriber_id, error="error_list_choice", status=400)
    if everything:
        return _page(request, ctx, subscriber_id, notice="unsubscribed_all_body")
    # Shown in the language just chosen, unless the page was asked for in another one.
    return _page(request, ctx, subscriber_id, notice="preferences_saved",
                 language=request.query_params.get("lang") or None)  # fmt: skip
