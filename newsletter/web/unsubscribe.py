"""Unsubscribe links: a GET shows a page with buttons, a POST unsubscribes at once.

The POST is also RFC 8058's one-click unsubscribe (body ``List-Unsubscribe=One-Click``), which
mailbox providers send without any page, cookie or login. Any POST on a valid link
unsubscribes: the signed token is the authority, and a missing body must not keep someone
subscribed. It is idempotent, and it keeps working after an erasure.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from newsletter.audience.links import UnsubscribeLink, read_unsubscribe_token
from newsletter.audience.subscriptions import unsubscribe
from newsletter.delivery.message import ONE_CLICK
from newsletter.errors import TokenError
from newsletter.store.tables import MailingList, Subscriber
from newsletter.tracking.own import record_unsubscribe
from newsletter.web.context import WebContext, web
from newsletter.web.errors import BadLink

router = APIRouter()

ALL_LISTS = "all"


def _read(ctx: WebContext, token: str) -> UnsubscribeLink:
    try:
        return read_unsubscribe_token(token, key=ctx.key, now=ctx.clock())
    except TokenError as err:
        raise BadLink(str(err)) from err


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    ctx = web(request)
    link = _read(ctx, token)
    with ctx.store.session() as session:
        subscriber = session.get(Subscriber, link.subscriber_id)
        mailing_list = session.get(MailingList, link.list_id)
    if subscriber is None:  # erased: the hashed suppression already keeps the address out
        return ctx.page(request, "unsubscribed.html", ctx.language(request), scope="gone",
                        list_title="")  # fmt: skip
    language = ctx.language(request, subscriber.language)
    return ctx.page(
        request, "unsubscribe.html", language, email=subscriber.email,
        list_title=_title(mailing_list), action=request.url.path, has_list=mailing_list is not None,
    )  # fmt: skip


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_post(
    request: Request,
    token: str,
    one_click: Annotated[str, Form(alias="List-Unsubscribe", max_length=100)] = "",
    scope: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    ctx = web(request)
    link = _read(ctx, token)
    how = "one-click" if one_click == ONE_CLICK.partition("=")[2] else "unsubscribe page"
    source = f"{how}, delivery {link.delivery_id}" if link.delivery_id else how
    everything = scope == ALL_LISTS and not one_click
    with ctx.store.session() as session:
        subscriber = session.get(Subscriber, link.subscriber_id)
        mailing_list = session.get(MailingList, link.list_id)
        title = _title(mailing_list)
        known = subscriber.language if subscriber is not None else None
        if subscriber is not None:
            if everything:
                unsubscribe(session, subscriber.email, None, source=source, now=ctx.clock())
            elif mailing_list is not None:  # a deleted list took its memberships with it
                unsubscribe(session, subscriber.email, mailing_list.name, source=source,
                            now=ctx.clock())  # fmt: skip
    if link.delivery_id and subscriber is not None:
        # After the commit above: the person is unsubscribed whatever happens to the count.
        record_unsubscribe(ctx.store, link.delivery_id, how=how, now=ctx.clock())
    shown = "gone" if subscriber is None else (ALL_LISTS if everything else "list")
    return ctx.page(request, "unsubscribed.html", ctx.language(request, known), scope=shown,
                    list_title=title)  # fmt: skip


def _title(mailing_list: MailingList | None) -> str:
    if mailing_list is None:
        return ""
    return mailing_list.title or mailing_list.name
