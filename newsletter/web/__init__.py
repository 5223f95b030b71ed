"""The web app (FastAPI): the public pages, and later the webhook, archive and studio."""

from newsletter.web.app import create_app

__all__ = ["create_app"]
