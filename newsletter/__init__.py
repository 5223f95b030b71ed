"""Infolettres and communiqués: MJML + Jinja2 templates rendered, sent and tracked."""

__version__ = "0.1.0"
