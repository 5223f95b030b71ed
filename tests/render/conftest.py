"""Issues built in code for the render tests: an infolettre and a communiqué, both languages."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from newsletter.content.model import (
    Article,
    Attachment,
    CommuniqueEdition,
    InfolettreEdition,
    Issue,
    Link,
    MediaContact,
    Quote,
    Section,
)

EDT = timezone(timedelta(hours=-4))


def article(n: int, **overrides: object) -> Article:
    fields: dict[str, object] = {
        "url": f"https://www.example.org/articles/{n}",
        "title": f"Article numéro {n}",
        "summary": f"Résumé de l'article {n}.",
        "image_url": f"https://www.example.org/images/{n}.jpg",
        "image_alt": f"Photo {n}",
        "published_at": datetime(2025, 5, 1 + n, 9, 30, tzinfo=EDT),
        "language": "fr",
    }
    fields.update(overrides)
    return Article.model_validate(fields)


def infolettre_issue(featured: list[Article] | None = None, **edition: object) -> Issue:
    featured = featured if featured is not None else [article(i) for i in range(1, 4)]
    recent = [article(i, title=f"Récent {i}", image_url=None) for i in range(10, 18)]
    editions = {}
    for language in ("fr", "en"):
        fields: dict[str, object] = {
            "language": language,
            "subject": f"Infolettre de mai ({language})",
            "preheader": "Les nouvelles du mois",
            "title": "Infolettre — mai 2025",
            "intro": "Voici **les nouvelles** du mois.",
            "featured": featured,
            "recent": recent,
            "sections": [
                Section(
                    title="Agenda",
                    body="Assemblée le *12 juin*.",
                    links=[Link(label="Inscription", url="https://www.example.org/agenda")],
                )
            ],
        }
        fields.update(edition)
        editions[language] = InfolettreEdition.model_validate(fields)
    return Issue(
        kind="infolettre",
        slug="2025-05-test",
        date=date(2025, 5, 6),
        template="infolettre",
        languages=["fr", "en"],
        infolettre=editions,
    )


def communique_issue(embargo: datetime | None = None) -> Issue:
    editions = {
        language: CommuniqueEdition(
            language=language,
            subject="La société civile a un plan pour l'ALÉNA",
            headline="La société civile a un plan pour les négociations de l'ALÉNA",
            subheadline="Après la rencontre trinationale à Mexico",
            dateline_city="Montréal",
            lead="Plus de 300 personnes ont discuté de la renégociation de l'ALÉNA.",
            body="Les personnes participantes ont conclu les travaux.\n\nDeuxième paragraphe.",
            quotes=[
                Quote(
                    text="Un autre modèle est possible", author="Alex Exemple", role="porte-parole"
                )
            ],
            boilerplate_title="",
            boilerplate="",
            photo_credit="Sam Exemple",
            source_label="Confédération exemple",
        )
        for language in ("fr", "en")
    }
    return Issue(
        kind="communique",
        slug="2017-05-30-alena",
        date=date(2017, 5, 30),
        template="communique",
        languages=["fr", "en"],
        communique=editions,
        embargo_until=embargo,
        contacts=[
            MediaContact(
                name="Camille Exemple",
                role="conseillère aux communications",
                organisation="Confédération exemple",
                email="camille@example.org",
                phone="514 555-0199",
                languages=["fr", "en"],
            )
        ],
        attachments=[
            Attachment(path="files/declaration.pdf", title="Déclaration finale", size=204800)
        ],
    )


@pytest.fixture
def infolettre() -> Issue:
    return infolettre_issue()


@pytest.fixture
def communique() -> Issue:
    return communique_issue()


def plain(text: str) -> str:
    """``text`` without French typography: non-breaking spaces as spaces, ’ as '."""
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
