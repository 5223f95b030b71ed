"""Trust at the edge: which Host the pages answer to, and whose X-Forwarded-For is believed.

- A request naming a host that is not ours (public_base_url's, or one of ``web.allowed_hosts``)
  gets 400 before any route runs; the absolute URLs we build come from public_base_url, never
  from the request (a forged Host must not turn a redirect towards another site).
- The client address is the connection's peer. Only when that peer is one of
  ``web.trusted_proxies`` is X-Forwarded-For read, from the right, up to the first address that
  is not a trusted proxy: a client cannot pick its own address to dodge the subscribe rate
  limit by sending the header itself. ``newsletter serve`` runs uvicorn without its own
  proxy-header handling, so this is the only place that decides.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from newsletter.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def our_hosts(settings: Settings) -> list[str]:
    """The host names requests may name: public_base_url's, then ``web.allowed_hosts``."""
    public = (urlsplit(settings.public_base_url).hostname or "").lower()
    return list(dict.fromkeys(h for h in (public, *settings.web.extra_hosts) if h))


def guard(app: FastAPI, settings: Settings) -> None:
    """Install the Host check and the forwarded-address rule on ``app``, and let no redirect be
    built from the request (see `slash_redirect`)."""
    app.router.redirect_slashes = False
    app.add_middleware(ForwardedFor, networks=settings.web.trusted_networks)
    # Added last, so it runs first: a foreign Host is refused before anything else.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=our_hosts(settings),
                       www_redirect=False)  # fmt: skip


def slash_redirect(request: Request, base_url: str) -> RedirectResponse | None:
    """For a path with a trailing slash that names a page without it (/archive/), the redirect
    to that page at our public address; None otherwise."""
    path = request.url.path
    if len(path) < 2 or not path.endswith("/"):
        return None
    bare = path.rstrip("/")
    scope = {**request.scope, "path": bare}
    if not any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
        return None
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{base_url}{bare}{query}", status_code=308)


class ForwardedFor:
    """ASGI middleware: the client address from X-Forwarded-For when the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and self.networks and client:
            found = self.client_of(str(client[0]), _forwarded(scope))
            if found != client[0]:
                scope = {**scope, "client": (found, 0)}
        await self.app(scope, receive, send)

    def trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_of(self, peer: str, forwarded: list[str]) -> str:
        """The client: from the right of ``forwarded``, the first address not a trusted proxy."""
        client = peer
        if not self.trusted(_address(peer)):
            return client
        for hop in reversed(forwarded):
            address = _address(hop)
            if address is None:  # garbage in the header: stop at the last proxy we trust
                break
            client = str(address)
            if not self.trusted(address):
                break
        return client


def _forwarded(scope: Scope) -> list[str]:
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(part.strip() for part in value.decode("latin-1").split(","))
    return hops


def _address(text: str) -> Address | None:
    candidate = text.strip()
    if candidate.startswith("[") and "]" in candidate:  # [2001:db8::1]:443
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # 192.0.2.1:443
        candidate = candidate.partition(":")[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None
