"""The web app (FastAPI): the public pages, and later the webhook, archive and studio."""

from newsletter.web.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
