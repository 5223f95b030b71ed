"""Jinja -> MJML -> inlined CSS -> text, and the personalization template compiled once.

    render_issue(issue, language, workspace)              an infolettre or a communiqué
    render_template(name, language, context, workspace, subject=...)   any other template

Both return a `RenderedIssue` whose subject, HTML and text hold personalization tokens
(see `personalize`) and whose `checks` say whether it is fit to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from newsletter.config import Workspace
from newsletter.content.model import Issue, Language
from newsletter.errors import RenderError
from newsletter.render import jinja_stage, stages, typography
from newsletter.render.checks import Check, run_checks
from newsletter.render.colors import palette_pairs
from newsletter.render.context import base_context, communique_context, infolettre_context
from newsletter.render.personalize import (
    FIELDS,
    TOKEN_NAMES,
    PersonalizationTemplate,
    Personalized,
    html_token,
    text_token,
)

__all__ = [
    "FIELDS",
    "Check",
    "PersonalizationTemplate",
    "Personalized",
    "RenderedIssue",
    "render_issue",
    "render_template",
]


@dataclass(frozen=True)
class RenderedIssue:
    """One language of an issue, compiled and inlined, with personalization tokens."""

    language: str
    subject: str
    html: str
    text: str
    checks: tuple[Check, ...]
    personalization: PersonalizationTemplate


def render_issue(issue: Issue, language: Language, workspace: Workspace) -> RenderedIssue:
    if language not in issue.languages:
        raise RenderError(
            f"{issue.source_path or issue.slug}: no {language!r} edition "
            f"(languages: {', '.join(issue.languages)})"
        )
    if issue.kind == "infolettre":
        context = infolettre_context(issue, language, workspace)
    else:
        context = communique_context(issue, language, workspace)
    return _render(issue.template, language, context, workspace, subject=context["subject"])


def render_template(
    template: str,
    language: Language,
    context: Mapping[str, object],
    workspace: Workspace,
    *,
    subject: str,
) -> RenderedIssue:
    """Render any template (the double opt-in confirmation, ...) with the shared context."""
    full = base_context(language, workspace, subject=subject)
    full.update(context)
    return _render(template, language, full, workspace, subject=subject, unsubscribe="warning")


def _render(
    template: str,
    language: Language,
    context: Mapping[str, Any],
    workspace: Workspace,
    *,
    subject: str,
    unsubscribe: Literal["error", "warning", "info"] = "error",
) -> RenderedIssue:
    templates_dir = workspace.templates_dir
    source = jinja_stage.render(templates_dir, template, context)
    compiled = stages.compile_mjml(
        source, jinja_stage.template_file(template), templates_dir.resolve()
    )
    html = stages.inline_css(compiled)
    text = _text_tokens(stages.html_to_text(html))
    if language == "fr":
        tight = workspace.settings.typography.french_punctuation_space
        html = typography.french_html(html, tight)
        text = typography.french(text, tight)
    personalization = PersonalizationTemplate(subject, html, text)
    checks = run_checks(
        html,
        text,
        personalization,
        postal_address=context["brand"].postal_address,
        unsubscribe_level=unsubscribe,
        scheme_pairs=palette_pairs(context["dark"]),
    )
    return RenderedIssue(
        language=language,
        subject=subject,
        html=html,
        text=text,
        checks=checks,
        personalization=personalization,
    )


def _text_tokens(text: str) -> str:
    """The text part gets its own tokens, filled with unescaped values."""
    for name in TOKEN_NAMES:
        text = text.replace(html_token(name), text_token(name))
    return text
