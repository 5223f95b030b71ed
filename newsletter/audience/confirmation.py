"""The double opt-in confirmation message, rendered through the same pipeline as every issue."""

from __future__ import annotations

from newsletter.config import Workspace
from newsletter.content.model import Language
from newsletter.render import RenderedIssue, render_template

CONFIRMATION_TEMPLATE = "confirmation"
SUBJECTS: dict[str, str] = {
    "fr": "Confirmez votre abonnement à {name}",
    "en": "Please confirm your subscription to {name}",
}


def confirmation_message(
    workspace: Workspace, language: Language, confirm_url: str, list_name: str
) -> RenderedIssue:
    """The confirmation message in the subscriber's language, asking them to follow
    ``confirm_url``; sending it belongs to delivery."""
    subject = SUBJECTS[language].format(name=workspace.settings.brand.name)
    context = {"confirm_url": confirm_url, "list_name": list_name}
    return render_template(CONFIRMATION_TEMPLATE, language, context, workspace, subject=subject)
