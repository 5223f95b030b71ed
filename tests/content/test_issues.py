"""Issue files: the two examples resolve as expected, and every mistake gets one clear error."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.content.issues import load_issue
from newsletter.content.model import IssueLinks, Sender
from newsletter.content.text import normalize_url
from newsletter.errors import IssueFileError

ISSUES = Path(__file__).resolve().parents[2] / "issues"
INFOLETTRE = ISSUES / "2025-05-06-infolettre.yaml"
COMMUNIQUE = ISSUES / "2017-05-30-communique-alena.yaml"

RECENT_FR = [
    "Les professeur-es de l’ITAQ seront enfin traités comme dans les cégeps",
    "Les agentes et agents d’exo en grève aujourd’hui",
    "Campagne de signature de la déclaration, le bal est lancé",
    "Négociation nationale des CPE : entente de principe pour la FSSS–CSN",
    "Journée internationale des sages-femmes : les projets de maisons de naissance doivent "
    "redémarrer",
    "Le Syndicat d’Ikea de Montréal déclenche la grève",
    "Journée internationale de la liberté de presse - Un réveil politique nécessaire",
    "Le personnel de soutien de l’Aide juridique adopte un mandat de grève",
]


def test_example_infolettre(settings: Settings) -> None:
    issue = load_issue(INFOLETTRE, settings)
    assert (issue.kind, issue.slug, issue.template) == (
        "infolettre",
        "2025-05-06-infolettre",
        "infolettre",
    )
    assert issue.languages == ["fr", "en"]
    fr, en = issue.infolettre["fr"], issue.infolettre["en"]
    hero = fr.featured[0]
    assert hero.title == "Les projets soutenus par l’ASTM en 2012"
    assert hero.summary.startswith("Plus la solidarité mondiale des travailleuses")
    assert hero.url == "https://www.example.org/actualites/les-projets-soutenus-par-lastm-en-2012/"
    assert hero.published_at == datetime(2012, 12, 30, 9, tzinfo=timezone(timedelta(hours=-5)))
    assert hero.tags["dossiers"] == ["Éducation", "International", "Solidarité intersyndicale"]
    assert hero.tags["sujets"] == [
        "Afrique",
        "Aide humanitaire",
        "Alliance syndicats et tiers-monde",
        "Amérique du Nord",
        "Amérique latine",
    ]
    assert hero.image_alt
    assert en.featured[0].title == "Projects supported by the ASTM in 2012"
    assert [a.title for a in fr.featured[1:]] == ["Boycott Amazon", "L’information, un bien public"]
    assert [a.title for a in fr.recent] == RECENT_FR
    assert len(en.recent) == 8
    assert en.recent[0].title == "ITAQ teachers will finally be treated like CEGEP teachers"
    assert {a.language for a in fr.recent} == {"fr"}
    assert {a.language for a in en.recent} == {"en"}
    for edition in (fr, en):
        dates = [a.published_at for a in edition.recent]
        assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert fr.sections[0].links[0].label == "Version PDF"
    # No sender in the file: the configured one.
    assert issue.sender is not None
    assert issue.sender.email == settings.sender.email


def test_featured_article_is_left_out_of_recent(settings: Settings) -> None:
    # The French feed lists the featured article, dated inside the window and with tracking
    # parameters on its link: the list must still hold eight other articles.
    issue = load_issue(INFOLETTRE, settings)
    featured = {normalize_url(a.url) for e in issue.infolettre.values() for a in e.featured}
    feed_text = (ISSUES / "feeds" / "actualites.fr.xml").read_text(encoding="utf-8")
    assert "les-projets-soutenus-par-lastm-en-2012/?utm_source=rss" in feed_text
    for edition in issue.infolettre.values():
        assert not featured & {normalize_url(a.url) for a in edition.recent}
        assert "ASTM" not in " ".join(a.title for a in edition.recent)


def test_recent_window_is_counted_back_from_the_issue_date(
    tmp_path: Path, settings: Settings
) -> None:
    # Two days earlier, the articles of May 5 do not exist yet, and a 30-day window now reaches
    # back to April 4: five of the eight remain, whatever today's date is.
    copy = _copy_example(tmp_path)
    text = copy.read_text(encoding="utf-8").replace("date: 2025-05-06", "date: 2025-05-04")
    copy.write_text(text, encoding="utf-8")
    recent = load_issue(copy, settings).infolettre["fr"].recent
    assert [a.title for a in recent] == RECENT_FR[3:]
    # With a 3-day window ending May 4 only what was published from May 2 on is kept.
    copy.write_text(text.replace("within_days: 30", "within_days: 3"), encoding="utf-8")
    recent = load_issue(copy, settings).infolettre["fr"].recent
    assert [a.title for a in recent] == RECENT_FR[3:7]


def test_recent_count(tmp_path: Path, settings: Settings) -> None:
    copy = _copy_example(tmp_path)
    copy.write_text(
        copy.read_text(encoding="utf-8").replace("count: 8", "count: 3"), encoding="utf-8"
    )
    assert [a.title for a in load_issue(copy, settings).infolettre["fr"].recent] == RECENT_FR[:3]


def test_example_communique(settings: Settings) -> None:
    issue = load_issue(COMMUNIQUE, settings)
    assert (issue.kind, issue.template, issue.languages) == (
        "communique",
        "communique",
        ["fr", "en"],
    )
    assert issue.date.isoformat() == "2017-05-30"
    assert issue.embargo_until is None
    fr = issue.communique["fr"]
    assert fr.headline == "La société civile a un plan pour les négociations de l'ALÉNA"
    assert fr.subheadline == "Après la rencontre trinationale à Mexico"
    assert fr.dateline_city == "Montréal"
    assert fr.lead.startswith("Plus de 300 personnes")
    assert "Chrystia Freeland" not in fr.body  # the lead is not repeated in the body
    assert fr.body.count("\n\n") == 4  # five paragraphs
    assert len(fr.quotes) == 4
    assert (fr.boilerplate_title, fr.boilerplate) == ("", "")  # the identity's "À propos"
    assert issue.identity == "rqic"
    assert "Denise Gagnon" in fr.photo_credit
    assert issue.communique["en"].headline == "Civil society has a plan for the NAFTA negotiations"
    (contact,) = issue.contacts
    assert contact.name == "Camille Tremblay"
    assert contact.email is not None and contact.email.endswith("@example.org")
    assert contact.languages == ["fr", "en"]
    (attachment,) = issue.attachments
    assert attachment.content_type == "text/plain; charset=utf-8"
    assert (
        attachment.size == (ISSUES / "files" / "rqic-alena-2017-organisations.txt").stat().st_size
    )
    assert Path(attachment.path).is_file()
    # The identity's From: no sender: block in the file.
    assert issue.sender == Sender(
        name="Réseau québécois sur l'intégration continentale",
        email="communiques@example.org",
        reply_to="camille.tremblay@example.org",
    )
    # Printed fields written once per language, or once for both.
    assert contact.role == {"fr": "Porte-parole", "en": "Spokesperson"}
    assert attachment.title == {
        "fr": "Organisations du Québec représentées à Mexico",
        "en": "Québec organisations represented in Mexico City",
    }
    assert {e.dateline_city for e in issue.communique.values()} == {"Montréal"}
    assert issue.communique["en"].photo_credit == "Denise Gagnon, FTQ"


def test_a_language_may_override_a_shared_field_and_a_mapping_falls_back(
    tmp_path: Path, settings: Settings
) -> None:
    path = _copy_communique(
        tmp_path, "  fr:\n", "  fr:\n    photo_credit: Photo fournie par la FTQ\n"
    )
    text = path.read_text(encoding="utf-8").replace(
        "role: {fr: Porte-parole, en: Spokesperson}", "role: {fr: Porte-parole}"
    )
    path.write_text(text, encoding="utf-8")
    issue = load_issue(path, settings)
    assert issue.communique["fr"].photo_credit == "Photo fournie par la FTQ"
    assert issue.communique["en"].photo_credit == "Denise Gagnon, FTQ"
    # English lacks a role: the first language's is printed rather than nothing.
    assert issue.contacts[0].role == {"fr": "Porte-parole", "en": "Porte-parole"}


def test_a_single_value_still_validates_where_one_per_language_is_allowed(
    tmp_path: Path, settings: Settings
) -> None:
    path = _copy_communique(
        tmp_path, "role: {fr: Porte-parole, en: Spokesperson}", "role: Porte-parole"
    )
    assert load_issue(path, settings).contacts[0].role == "Porte-parole"


def test_a_dateline_city_given_nowhere_names_the_language(
    tmp_path: Path, settings: Settings
) -> None:
    path = _copy_communique(tmp_path, "dateline_city: Montréal\n", "")
    path.write_text(
        path.read_text(encoding="utf-8").replace("  fr:\n", "  fr:\n    dateline_city: Montréal\n"),
        encoding="utf-8",
    )
    with pytest.raises(IssueFileError) as caught:
        load_issue(path, settings)
    error = caught.value
    assert error.field == "languages.en.dateline_city" and "give the city" in str(error)
    assert error.line is not None
    assert path.read_text(encoding="utf-8").splitlines()[error.line - 1] == "  en:"


def test_an_explicit_sender_wins_over_the_identity_s_from(
    tmp_path: Path, settings: Settings
) -> None:
    path = _copy_communique(
        tmp_path,
        "identity: rqic\n",
        "identity: rqic\nsender: {name: Camille, email: c@example.org}\n",
    )
    issue = load_issue(path, settings)
    assert issue.identity == "rqic"
    assert issue.sender == Sender(name="Camille", email="c@example.org")


@pytest.mark.parametrize(
    ("declared", "words"),
    [(True, "unknown identity 'coalition' (declared: rqic)"), (False, "none is declared")],
)
def test_an_identity_the_settings_do_not_declare_is_refused_at_its_line(
    tmp_path: Path, settings: Settings, declared: bool, words: str
) -> None:
    path = _copy_communique(tmp_path, "identity: rqic", "identity: coalition")
    chosen = settings if declared else settings.model_copy(update={"identities": {}})
    with pytest.raises(IssueFileError) as caught:
        load_issue(path, chosen)
    error = caught.value
    assert error.field == "identity" and words in str(error)
    assert "[identities.coalition]" in str(error)
    assert error.line is not None
    assert path.read_text(encoding="utf-8").splitlines()[error.line - 1] == "identity: coalition"


def test_the_links_to_the_web_and_pdf_versions(tmp_path: Path, settings: Settings) -> None:
    assert load_issue(COMMUNIQUE, settings).links == IssueLinks(web=True, pdf=True)
    path = _copy_communique(tmp_path, "links: {web: true, pdf: true}", "links: {pdf: false}")
    assert load_issue(path, settings).links == IssueLinks(web=True, pdf=False)
    for index, (written, field, words) in enumerate((
        ("links: {pdf: maybe}", "links.pdf", "boolean"),
        ("links: {html: true}", "links.html", "unknown key 'html'"),
    )):  # fmt: skip
        (folder := tmp_path / str(index)).mkdir()
        path = _copy_communique(folder, "links: {web: true, pdf: true}", written)
        with pytest.raises(IssueFileError) as caught:
            load_issue(path, settings)
        assert caught.value.field == field and words in str(caught.value)


def test_embargo_with_offset(tmp_path: Path, settings: Settings) -> None:
    path = _copy_communique(tmp_path, "release: immediate", "release:\n  embargo_until: "
                            "2017-05-30T10:00:00-04:00")  # fmt: skip
    issue = load_issue(path, settings)
    assert issue.embargo_until == datetime(2017, 5, 30, 14, tzinfo=UTC)


def test_language_variant_falls_back_to_the_first_language(
    tmp_path: Path, settings: Settings
) -> None:
    path = _write(
        tmp_path,
        MINIMAL.replace(
            "    subject: Sujet\n", "    subject: Sujet\n  en:\n    subject: Subject\n"
        ).replace(
            "  - url: https://www.example.org/a/\n    title: Article A\n",
            "  - fr:\n      url: https://www.example.org/a/\n      title: Article A\n",
        ),
    )
    issue = load_issue(path, settings)
    assert issue.infolettre["en"].featured[0].title == "Article A"
    assert issue.infolettre["en"].featured[0].language == "en"


def test_source_overrides(tmp_path: Path, settings: Settings) -> None:
    shutil.copytree(ISSUES / "pages", tmp_path / "pages")
    path = _write(tmp_path, MINIMAL.replace(
        "  - url: https://www.example.org/a/\n    title: Article A\n",
        "  - source: pages/astm-2012.fr.html\n    title: Un autre titre\n",
    ))  # fmt: skip
    article = load_issue(path, settings).infolettre["fr"].featured[0]
    assert article.title == "Un autre titre"
    assert article.summary.startswith("Plus la solidarité")


# -- every mistake: one error naming the file, the field and the line --------------------------

MINIMAL = """\
kind: infolettre
slug: test-issue
date: 2025-05-06
languages:
  fr:
    subject: Sujet
featured:
  - url: https://www.example.org/a/
    title: Article A
"""

BAD = [
    # id, replace this, with that, expected field, expected line, words in the message
    ("typo", "featured:", "featurd:", "featurd", 7, "did you mean 'featured'"),
    ("nested-typo", "    subject:", "    subjet:", "languages.fr.subjet", 6,
     "did you mean 'subject'"),
    ("missing-slug", "slug: test-issue\n", "", "slug", 1, "required field is missing"),
    ("missing-subject", "    subject: Sujet\n", "    preheader: P\n", "languages.fr.subject", 5,
     "required"),
    ("bad-kind", "kind: infolettre", "kind: newsletter", "kind", 1, "use infolettre or communique"),
    ("bad-language", "  fr:\n", "  de:\n", "languages.de", 5, "unknown language 'de'"),
    ("bad-date", "date: 2025-05-06", "date: 2025-13-01", "date", 3, "valid date"),
    ("bad-slug", "slug: test-issue", "slug: Test_Issue", "slug", 2, "lowercase letters"),
    ("relative-url", "https://www.example.org/a/", "/a/", "featured.0.url", 8,
     "not an absolute http(s) URL"),
    ("empty-featured", "featured:\n  - url: https://www.example.org/a/\n    title: Article A\n",
     "featured: []\n", "featured", 7, "must not be empty"),
    ("inline-without-title", "    title: Article A\n", "", "featured.0", 8, "title missing"),
    ("source-and-url", "    title: Article A\n", "    source: page.html\n", "featured.0", 8,
     "url cannot be given with source"),
    ("variants-and-shared", "  - url: https://www.example.org/a/\n",
     "  - fr: {url: 'https://www.example.org/a/', title: A}\n    url: https://www.example.org/a/\n",
     "featured.0", 8, "move title, url into each variant"),
    ("count-zero", "", "recent:\n  source: feed.xml\n  count: 0\n", "recent.count", 12,
     "greater than 0"),
    ("duplicate-key", "date: 2025-05-06\n", "date: 2025-05-06\ndate: 2025-05-07\n", "date", 4,
     "appears twice (first on line 3)"),
    ("yaml-syntax", "    title: Article A\n", "    title: [Article A\n", "featured.0.title", 10,
     "not valid YAML"),
    ("missing-page", "  - url: https://www.example.org/a/\n    title: Article A\n",
     "  - source: pages/none.html\n", "featured.0.source", 8, "no such file"),
    ("missing-feed", "", "recent:\n  source: feeds/none.xml\n", "recent.source", 11,
     "cannot read the feed: feeds/none.xml"),
    ("page-without-url", "  - url: https://www.example.org/a/\n    title: Article A\n",
     "  - source: bare.html\n", "featured.0.source", 8, "no og:url or <link rel=canonical>"),
    ("bad-sender", "featured:", "sender: {name: Moi, email: pas-une-adresse}\nfeatured:",
     "sender.email", 7, "not an email address"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("replace", "by", "field", "line", "words"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_infolettre_file(
    tmp_path: Path,
    settings: Settings,
    replace: str,
    by: str,
    field: str | None,
    line: int,
    words: str,
) -> None:
    if replace:
        assert replace in MINIMAL
        text = MINIMAL.replace(replace, by, 1)
    else:
        text = MINIMAL + by
    (tmp_path / "bare.html").write_text("<title>No public address</title>", encoding="utf-8")
    path = _write(tmp_path, text)
    with pytest.raises(IssueFileError) as caught:
        load_issue(path, settings)
    error = caught.value
    assert (error.path, error.field, error.line) == (str(path), field, line)
    assert words in str(error)
    assert str(error).startswith(f"{path}:{line}: ")
    assert sorted(tmp_path.iterdir()) == [tmp_path / "bare.html", path]  # nothing written


BAD_COMMUNIQUE = [
    ("naive-embargo", "release: immediate", "release:\n  embargo_until: 2017-05-30T10:00:00",
     "release.embargo_until", "with its offset, e.g. 2017-05-30T10:00:00-04:00"),
    ("bad-release", "release: immediate", "release: tomorrow", "release", "immediate"),
    ("missing-attachment", "path: files/rqic-alena-2017-organisations.txt",
     "path: files/none.pdf", "attachments.0.path", "no such file"),
    ("bad-contact-language", "languages: [fr, en]", "languages: [fr, es]", "contacts.0.languages.1",
     "'fr' or 'en'"),
    ("infolettre-key", "attachments:", "featured: []\nattachments:", "featured", "unknown key"),
    ("role-language", "role: {fr: Porte-parole, en: Spokesperson}",
     "role: {fr: Porte-parole, de: Sprecher}", "contacts.0.role.de", "unknown key 'de'"),
    ("role-empty", "role: {fr: Porte-parole, en: Spokesperson}", "role: {}",
     "contacts.0.role", "at least one language"),
    ("shared-language", "photo_credit: Denise Gagnon, FTQ", "photo_credit: {es: Denise}",
     "photo_credit.es", "unknown key 'es'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("replace", "by", "field", "words"),
    [case[1:] for case in BAD_COMMUNIQUE],
    ids=[case[0] for case in BAD_COMMUNIQUE],
)
def test_bad_communique_file(
    tmp_path: Path, settings: Settings, replace: str, by: str, field: str, words: str
) -> None:
    path = _copy_communique(tmp_path, replace, by)
    with pytest.raises(IssueFileError) as caught:
        load_issue(path, settings)
    error = caught.value
    assert error.field == field
    assert words in str(error)
    # The line is the one holding the field (or, for a list item, its first line).
    assert error.line is not None
    key = field.split(".")[-1] if not field.split(".")[-1].isdigit() else field.split(".")[-2]
    assert key in path.read_text(encoding="utf-8").splitlines()[error.line - 1]


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "the file is empty"), ("- a\n- b\n", "YAML mapping"), ("kind: communique\n", "slug")],
)
def test_file_that_is_not_an_issue(
    tmp_path: Path, settings: Settings, text: str, words: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(IssueFileError, match=words) as caught:
        load_issue(path, settings)
    assert caught.value.line == 1


def test_missing_issue_file(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(IssueFileError, match="no such issue file"):
        load_issue(tmp_path / "none.yaml", settings)


def _write(folder: Path, text: str) -> Path:
    path = folder / "issue.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _copy_example(folder: Path) -> Path:
    for name in ("pages", "feeds"):
        shutil.copytree(ISSUES / name, folder / name)
    return Path(shutil.copy(INFOLETTRE, folder / INFOLETTRE.name))


def _copy_communique(folder: Path, replace: str, by: str) -> Path:
    shutil.copytree(ISSUES / "files", folder / "files")
    text = COMMUNIQUE.read_text(encoding="utf-8")
    assert replace in text
    return _write(folder, text.replace(replace, by, 1))
