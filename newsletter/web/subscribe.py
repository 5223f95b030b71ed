"""The subscribe form (double opt-in, first step) and the confirmation page (second step).

The answer to a subscribe post never says whether the address was known, subscribed or
suppressed: the same page follows every well-formed post, and only a new or pending address
gets a message. A confirmation link only confirms through the page's POST button, since mail
link scanners follow every GET.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from newsletter.audience.addresses import normalize_address
from newsletter.audience.links import preferences_url
from newsletter.audience.subscriptions import Subscription, confirm, subscribe
from newsletter.audience.tokens import CONFIRM, make_token, read_token
from newsletter.errors import AudienceError, SuppressedError, TokenError
from newsletter.store.tables import MailingList, Membership, Subscriber
from newsletter.web.context import WebContext, client_ip, web
from newsletter.web.errors import BadLink, CancelledSubscription, TooManyRequests
from newsletter.web.i18n import LANGUAGES, translate
from newsletter.web.mailer import send_confirmation
from newsletter.web.ratelimit import client_key

router = APIRouter()

FORM_TOKEN = "subscribe-form"
FORM_TTL = timedelta(hours=12)


@dataclass
class SubscribeForm:
    """What the person typed, kept to fill the form again when it has a problem."""

    email: str = ""
    first_name: str = ""
    language: str = ""
    lists: list[str] = field(default_factory=list)
    consent: bool = False
    errors: list[str] = field(default_factory=list)


def _client_tag(ip: str) -> str:
    # The form token is bound to the client's address, so a token harvested by one client
    # cannot be handed to a bot elsewhere; hashed, so the page does not echo the address.
    return hashlib.sha256(f"form:{ip}".encode()).hexdigest()[:20]


def _offered(ctx: WebContext) -> list[MailingList]:
    names = ctx.public_lists
    with ctx.store.session() as session:
        found = {
            m.name: m
            for m in session.scalars(select(MailingList).where(MailingList.name.in_(names)))
        }
    return [found[name] for name in names if name in found]


def _form_page(
    request: Request, ctx: WebContext, language: str, form: SubscribeForm, *, status: int = 200
) -> HTMLResponse:
    token = make_token(FORM_TOKEN, _client_tag(client_ip(request)), FORM_TTL, key=ctx.key,
                       now=ctx.clock())  # fmt: skip
    offered = _offered(ctx)
    if not form.lists and len(offered) == 1:
        form.lists = [offered[0].name]
    return ctx.page(request, "subscribe.html", language, status=status, form=form,
                    offered=offered, form_token=token, action=request.url.path)  # fmt: skip


@router.get("/subscribe", response_class=HTMLResponse)
@router.get("/abonnement", response_class=HTMLResponse)
def subscribe_page(request: Request) -> HTMLResponse:
    ctx = web(request)
    language = ctx.language(request)
    return _form_page(request, ctx, language, SubscribeForm(language=language))


@router.post("/subscribe", response_class=HTMLResponse)
@router.post("/abonnement", response_class=HTMLResponse)
def subscribe_post(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    first_name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=8)] = "",
    lists: Annotated[list[str] | None, Form()] = None,
    consent: Annotated[str, Form(max_length=8)] = "",
    website: Annotated[str, Form(max_length=500)] = "",
    form_token: Annotated[str, Form(max_length=500)] = "",
    page_lang: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    ctx = web(request)
    ip = client_ip(request)
    shown = page_lang if page_lang in LANGUAGES else ctx.language(request)
    wait = ctx.limiter.hit(client_key(ip))
    if wait is not None:
        raise TooManyRequests(headers={"Retry-After": str(max(1, round(wait)))})
    done = ctx.page(request, "subscribe_done.html", shown)
    if website:  # the honeypot: people never see it, form-filling robots do
        return done
    form = SubscribeForm(
        email=email.strip(), first_name=first_name.strip(),
        language=language if language in LANGUAGES else shown,
        lists=list(dict.fromkeys(lists or [])), consent=consent == "yes",
    )  # fmt: skip
    try:
        subject = read_token(form_token, FORM_TOKEN, key=ctx.key, now=ctx.clock())
    except TokenError:
        subject = ""
    if subject != _client_tag(ip):
        form.errors.append("error_form_expired")
    try:
        address = normalize_address(form.email)
    except AudienceError:
        form.errors.append("error_email")
    offered = {m.name: m for m in _offered(ctx)}
    if not form.lists or any(name not in offered for name in form.lists):
        form.errors.append("error_lists")
    if not form.consent:
        form.errors.append("error_consent")
    if form.errors:
        return _form_page(request, ctx, shown, form, status=400)

    wording = translate(shown, "consent_label", name=ctx.settings.brand.name)
    now = ctx.clock()
    created: list[tuple[Subscription, str]] = []
    try:
        with ctx.store.session() as session:
            for name in form.lists:
                item = subscribe(
                    session, address, name, key=ctx.key, public_base_url=ctx.base_url,
                    language=form.language, source=f"{ctx.base_url}{request.url.path}",
                    wording=wording, ip=ip, profile={"first_name": form.first_name}, now=now,
                )  # fmt: skip
                if item.confirm_url is not None:
                    created.append((item, offered[name].title or name))
    except SuppressedError:
        return done  # nothing written, nothing sent, and nothing said about it
    # Sent after the commit: a link must never name a membership that was rolled back.
    for item, title in created:
        send_confirmation(ctx, item, title)
    return done


def _membership_for(ctx: WebContext, token: str) -> tuple[Membership, Subscriber, MailingList]:
    try:
        subject = read_token(token, CONFIRM, key=ctx.key, now=ctx.clock())
    except TokenError as err:
        raise BadLink(str(err)) from err
    with ctx.store.session() as session:
        membership = session.get(Membership, int(subject))
        if membership is None:
            raise CancelledSubscription("membership erased")
        subscriber = session.get(Subscriber, membership.subscriber_id)
        mailing_list = session.get(MailingList, membership.list_id)
    assert subscriber is not None and mailing_list is not None  # foreign keys cascade
    return membership, subscriber, mailing_list


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    ctx = web(request)
    _, subscriber, mailing_list = _membership_for(ctx, token)
    language = ctx.language(request, subscriber.language)
    return ctx.page(request, "confirm.html", language, list_title=mailing_list.title or
                    mailing_list.name, action=request.url.path)  # fmt: skip


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_post(request: Request, token: str) -> HTMLResponse:
    ctx = web(request)
    _, subscriber, mailing_list = _membership_for(ctx, token)
    try:
        with ctx.store.session() as session:
            confirm(session, token, key=ctx.key, now=ctx.clock())
    except TokenError as err:
        raise BadLink(str(err)) from err
    except AudienceError as err:  # unsubscribed since, or suppressed
        raise CancelledSubscription(str(err)) from err
    language = ctx.language(request, subscriber.language)
    return ctx.page(
        request, "confirmed.html", language,
        list_title=mailing_list.title or mailing_list.name,
        preferences_url=preferences_url(ctx.base_url, subscriber.id, key=ctx.key),
    )  # fmt: skip
