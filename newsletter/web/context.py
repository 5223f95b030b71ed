"""What every route needs (store, transport, clock, signing key, limiter, templates) and the
page renderer that sets the language and the safety headers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from newsletter.config import Settings, Workspace
from newsletter.delivery import Transport
from newsletter.store import Store
from newsletter.web.i18n import LANGUAGES, negotiate, other_language, translate, translator
from newsletter.web.ratelimit import RateLimiter

# No script at all; forms post only here; no framing (a one-click button must not be
# clickjacked); and no Referer, since the URL carries the subscriber's token.
SAFETY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def page_environment() -> Environment:
    return Environment(
        loader=PackageLoader("newsletter.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass
class WebContext:
    workspace: Workspace
    store: Store
    transport: Transport
    clock: Callable[[], datetime]
    key: bytes
    limiter: RateLimiter
    env: Environment

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def base_url(self) -> str:
        return self.settings.public_base_url.rstrip("/")

    @property
    def public_lists(self) -> list[str]:
        return [n.strip() for n in self.settings.web.public_lists.split(",") if n.strip()]

    def language(self, request: Request, known: str | None = None) -> str:
        return negotiate(
            request.query_params.get("lang"),
            request.headers.get("accept-language"),
            known=known,
            default=self.settings.default_language,
        )

    def page(
        self,
        request: Request,
        template: str,
        language: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        switch = request.url.include_query_params(lang=other_language(language))
        html = self.env.get_template(template).render(
            lang=language,
            languages=LANGUAGES,
            language_names={code: translate(code, "lang_name") for code in LANGUAGES},
            t=translator(language),
            translate=translate,
            switch_url=f"{switch.path}?{switch.query}",
            brand=self.settings.brand,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers={**SAFETY_HEADERS, **(headers or {})})

    def close(self) -> None:
        self.transport.close()
        self.store.close()


def web(request: Request) -> WebContext:
    found = request.app.state.web
    assert isinstance(found, WebContext)
    return found


def client_ip(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers / forwarded_allow_ips set request.client.
    return request.client.host if request.client else ""
