"""The studio's own stylesheet and script, served from the package (no CDN, no build)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from newsletter.web.studio.base import PREFIX

router = APIRouter()

ASSETS = {"studio.css": "text/css; charset=utf-8", "studio.js": "text/javascript; charset=utf-8"}


@router.get(f"{PREFIX}/static/{{name}}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        return Response("not found", status_code=404, media_type="text/plain")
    data = resources.files("newsletter.web").joinpath("static", name).read_bytes()
    return Response(data, media_type=ASSETS[name],
                    headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})
