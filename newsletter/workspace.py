"""Workspace files: create a new workspace, write rendered issues, sample recipient fields."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import newsletter
from newsletter.config import CONFIG_FILE, Workspace, declared_settings
from newsletter.content.model import Issue
from newsletter.errors import NewsletterError
from newsletter.files import write_atomically
from newsletter.render import RenderedIssue
from newsletter.render.personalize import FIELDS
from newsletter.services.issues import sample_fields


def default_templates_dir() -> Path:
    """The templates shipped with the package (a wheel), or the checkout's (an editable install)."""
    return _shipped("templates", "infolettre.mjml")


def starter_issues_dir() -> Path:
    """The starter issues (an infolettre, a communiqué, the sources they read, the issue-file
    reference) shipped with the package, or the checkout's."""
    return _shipped("issues", "README.md")


def _shipped(folder: str, marker: str) -> Path:
    package = Path(newsletter.__file__).resolve().parent
    for candidate in (package / "skeleton" / folder, package.parent / folder):
        if (candidate / marker).is_file():
            return candidate
    raise NewsletterError(
        f"the default {folder} are missing from the installation ({package}); reinstall the "
        "package"
    )


def settings_toml() -> str:
    """A newsletter.toml with every setting commented out at its default, with its help."""
    lines = [
        "# Settings of this workspace. Each one is shown commented out at its default: uncomment",
        "# and change what you need. NEWSLETTER_* environment variables win over this file.",
        "# Keep secrets (secret_key, sendgrid.api_key, smtp.url) in the environment instead.",
    ]
    section: str | None = None
    for info in declared_settings():
        *path, name = info.key.split(".")
        here = ".".join(path) or None
        if here != section:
            lines += ["", f"[{here}]"]
            section = here
        lines += ["", f"# {info.help} ({info.env})", f"# {name} = {_toml_value(info.default)}"]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    # JSON string escapes are valid in TOML basic strings.
    return json.dumps(str(value), ensure_ascii=False)


#: The identity the starter communiqué speaks for (`identity: rqic`), as the example
#: workspace's newsletter.toml declares it: a new workspace renders its starters at once.
STARTER_IDENTITY = '''
# Another organisation an issue may speak for: `identity: rqic` in the starter communiqué (a
# coalition's release). Its From, logo, footer and "À propos" replace the brand's. Remove it
# with the starter communiqué, or declare your own the same way.
[identities.rqic]
name = "Réseau québécois sur l'intégration continentale"
email = "communiques@example.org"
reply_to = "camille.tremblay@example.org"
logo_url = "https://rqic.example.org/static/logo-rqic.png"
logo_alt = { fr = "Logo du RQIC", en = "RQIC logo" }
website = "https://rqic.example.org"
postal_address = "1000, rue Exemple, bureau 200, Montréal (Québec)  H2X 1Y1"
contact_email = "info@rqic.example.org"
phone = "514 555-0150"
about_title = { fr = "À propos du RQIC", en = "About the RQIC" }
boilerplate.fr = """
Le Réseau québécois sur l'intégration continentale (RQIC) regroupe des organisations
syndicales, populaires, communautaires et de solidarité internationale du Québec. Il suit les
accords de commerce et d'investissement et fait connaître les propositions de la société civile
à leur sujet."""
boilerplate.en = """
The Réseau québécois sur l'intégration continentale (RQIC) brings together union, grassroots,
community and international-solidarity organisations from Québec. It follows trade and
investment agreements and makes civil society's proposals about them known."""
'''


def create_workspace(directory: Path) -> Path:
    """Create a workspace in `directory` (new or empty); all of it appears at once or nothing."""
    target = directory.resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise NewsletterError(f"{target}: exists and is not an empty directory; choose a new one")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        shutil.copytree(default_templates_dir(), staging / "templates")
        # A team starts from issues that render at once, and the reference of their format.
        shutil.copytree(starter_issues_dir(), staging / "issues",
                        ignore=shutil.ignore_patterns("drafts", "__pycache__"))  # fmt: skip
        (staging / "subscribers").mkdir()
        (staging / CONFIG_FILE).write_text(settings_toml() + STARTER_IDENTITY, encoding="utf-8")
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def preview_fields(workspace: Workspace, issue: Issue, rendered: RenderedIssue) -> dict[str, str]:
    """A sample recipient's fields, for previews and `render --sample`."""
    fields = sample_fields(workspace.settings.public_base_url, issue.slug, rendered.language)
    assert set(fields) == set(FIELDS)
    return fields


def write_rendered(
    issue: Issue,
    rendered: Sequence[RenderedIssue],
    out: Path,
    *,
    sample: bool,
    workspace: Workspace,
) -> list[Path]:
    """Write `<slug>.<lang>.html` and `.txt` for each rendered language; returns the paths."""
    files: list[tuple[Path, str]] = []
    for result in rendered:
        html, text = result.html, result.text
        if sample:
            filled = result.personalization.fill(preview_fields(workspace, issue, result))
            html, text = filled.html, filled.text
        files.append((out / f"{issue.slug}.{result.language}.html", html))
        files.append((out / f"{issue.slug}.{result.language}.txt", text))
    out.mkdir(parents=True, exist_ok=True)
    for path, content in files:
        write_atomically(path, content)
    return [path for path, _ in files]

