"""The render, init and preview commands, end to end on the example workspace (demo: see
test_send_cli)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.cli import run
from newsletter.config import Workspace, load_settings
from newsletter.content.issues import load_issue
from newsletter.web.preview import preview_page

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"


def _render(workspace: Workspace, issue: str, out: Path, *extra: str) -> int:
    issue_file = str(workspace.root / issue)
    return run(["-w", str(workspace.root), "render", issue_file, "-o", str(out), *extra])


def test_render_writes_each_language_of_the_infolettre(
    workspace: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "build"
    assert _render(workspace, INFOLETTRE, out) == 0
    issue = load_issue(workspace.root / INFOLETTRE, workspace.settings)
    for lang in ("fr", "en"):
        html = (out / f"{issue.slug}.{lang}.html").read_text(encoding="utf-8")
        text = (out / f"{issue.slug}.{lang}.txt").read_text(encoding="utf-8")
        assert len(html.encode("utf-8")) < 102 * 1024
        # French typography changes spaces and apostrophes only.
        seen = html.replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
        edition = issue.infolettre[lang]
        assert edition.featured[0].title.replace("’", "'") in seen  # the hero
        assert len(edition.recent) == 8
        for article in edition.recent:
            title = article.title.replace("’", "'")
            assert title.replace("'", "&#39;") in seen or title in seen
            assert article.url in text
        assert re.search(r'<a [^>]*href="%%unsubscribe_url%%"', html)
        assert "%%unsubscribe_url:text%%" in text
    assert "Les projets soutenus par l’ASTM en 2012" in (out / f"{issue.slug}.fr.html").read_text(
        encoding="utf-8"
    )


def test_render_writes_the_communique_with_dateline_contacts_and_end_marker(
    workspace: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "build"
    assert _render(workspace, COMMUNIQUE, out, "--sample") == 0
    issue = load_issue(workspace.root / COMMUNIQUE, workspace.settings)
    fr = (out / f"{issue.slug}.fr.txt").read_text(encoding="utf-8")
    en = (out / f"{issue.slug}.en.txt").read_text(encoding="utf-8")
    # French typography keeps the date and the dash together (non-breaking spaces).
    assert "Montréal, le 30\u00a0mai\u00a02017\u00a0–" in fr
    assert "Montréal, May 30, 2017 –" in en
    for text in (fr, en):
        assert "-30-" in text
        for contact in issue.contacts:
            assert contact.name in text
            assert contact.email is not None and contact.email in text
        assert "%%" not in text  # --sample filled every slot
    assert "(FR, ANG)" in fr


def test_render_one_language_only(workspace: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "build"
    assert _render(workspace, INFOLETTRE, out, "--lang", "en") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "2025-05-06-infolettre.en.html",
        "2025-05-06-infolettre.en.txt",
    ]


def test_an_unknown_language_is_a_user_error(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "build"
    assert _render(workspace, INFOLETTRE, out, "--lang", "de") == 2
    err = capsys.readouterr().err
    assert "language de" in err and "--lang" in err
    assert not out.exists()


def test_a_broken_issue_file_gives_one_line_and_writes_nothing(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workspace.root / INFOLETTRE
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("slug:"))
    lines[index] = "slug: Pas Un Slug!"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "build"
    assert _render(workspace, INFOLETTRE, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{path}:{index + 1}" in err
    assert "slug" in err
    assert not out.exists()


def test_a_broken_template_names_the_template_and_line(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = workspace.templates_dir / "infolettre.mjml"
    lines = template.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "{% if %}")
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "build"
    assert _render(workspace, INFOLETTRE, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "infolettre.mjml:4" in err
    assert not out.exists()


def test_init_creates_a_workspace_that_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "nouveau"
    assert run(["init", str(target)]) == 0
    for name in ("newsletter.toml", "templates/infolettre.mjml", "issues", "subscribers"):
        assert (target / name).exists()
    settings = load_settings(target / "newsletter.toml", environ={})
    # The defaults, and the identity the starter communiqué speaks for.
    assert list(settings.identities) == ["rqic"]
    assert settings.model_copy(update={"identities": {}}) == load_settings(None, environ={})
    # A starter infolettre and communiqué, and the reference of the format, ready to render.
    starters = sorted((target / "issues").glob("*.yaml"))
    assert [p.name for p in starters] == [Path(COMMUNIQUE).name, Path(INFOLETTRE).name]
    assert (target / "issues" / "README.md").is_file()
    monkeypatch.setenv("NEWSLETTER_BRAND_POSTAL_ADDRESS", "1 rue Exemple, Montréal QC")
    for path in starters:
        assert run(["-w", str(target), "render", str(path), "--out", str(tmp_path / "b")]) == 0
    assert len(list((tmp_path / "b").glob("*.html"))) == 4


def test_init_refuses_a_directory_that_is_not_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plein").mkdir()
    (tmp_path / "plein" / "notes.txt").write_text("x", "utf-8")
    assert run(["init", str(tmp_path / "plein")]) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "plein").iterdir()) == ["notes.txt"]


def test_preview_pages(workspace: Workspace) -> None:
    issue_file = workspace.root / INFOLETTRE
    status, _, index = preview_page(issue_file, workspace, "/")
    assert status == 200
    assert "width:600px" in index and "width:375px" in index
    assert 'src="/fr.html"' in index and 'src="/en.html"' in index
    status, content_type, page = preview_page(issue_file, workspace, "/en.html")
    assert status == 200 and content_type.startswith("text/html")
    assert "%%" not in page
    assert preview_page(issue_file, workspace, "/de.html")[0] == 404
    issue_file.write_text("kind: infolettre\n", encoding="utf-8")
    status, _, page = preview_page(issue_file, workspace, "/")
    assert status == 422 and "slug" in page


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    listing = capsys.readouterr().out
    for command in ("init", "render", "preview", "demo"):
        assert command in listing
        assert run([command, "--help"]) == 0
        assert "Usage" in capsys.readouterr().out


def test_usage_errors_and_failed_checks_give_exit_codes(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["render", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err
    # Without a postal address the render still writes its files but exits 1.
    toml = workspace.root / "newsletter.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("postal_address")),
        encoding="utf-8",
    )
    out = tmp_path / "build"
    assert _render(workspace, INFOLETTRE, out) == 1
    assert "postal" in capsys.readouterr().out
    assert (out / "2025-05-06-infolettre.fr.html").is_file()
