"""Consent rules: what each kind of consent means and when implied consent lapses (CASL)."""

from __future__ import annotations

from datetime import MAXYEAR, datetime

from newsletter.errors import AudienceError
from newsletter.store.tables import CONSENT_EXPRESS_IMPORT, CONSENT_IMPLIED, CONSENT_KINDS

IMPLIED_CONSENT_YEARS = 2

# Words a CSV file or the command line may use for the kind of consent.
KIND_WORDS = {
    "express": CONSENT_EXPRESS_IMPORT,
    "expres": CONSENT_EXPRESS_IMPORT,
    "expresse": CONSENT_EXPRESS_IMPORT,
    "explicite": CONSENT_EXPRESS_IMPORT,
    "explicit": CONSENT_EXPRESS_IMPORT,
    "implied": CONSENT_IMPLIED,
    "implicite": CONSENT_IMPLIED,
    "tacite": CONSENT_IMPLIED,
    **{kind: kind for kind in CONSENT_KINDS},
}


def consent_kind(word: str) -> str:
    """The consent kind named by ``word`` (English or French); AudienceError otherwise."""
    kind = KIND_WORDS.get(_fold(word))
    if kind is None:
        raise AudienceError(f"consent {word!r}: expected express (exprès) or implied (tacite)")
    return kind


def implied_expiry(relationship: datetime) -> datetime:
    """Two years after the business relationship; 29 February maps to 28 February."""
    if relationship.year + IMPLIED_CONSENT_YEARS > MAXYEAR:
        raise AudienceError(
            f"implied consent of {relationship.date().isoformat()} would lapse after year "
            f"{MAXYEAR}: give the real date of the relationship"
        )
    try:
        return relationship.replace(year=relationship.year + IMPLIED_CONSENT_YEARS)
    except ValueError:
        return relationship.replace(year=relationship.year + IMPLIED_CONSENT_YEARS, day=28)


def expiry_for(kind: str, obtained_at: datetime) -> datetime | None:
    return implied_expiry(obtained_at) if kind == CONSENT_IMPLIED else None


def _fold(word: str) -> str:
    table = str.maketrans("éèêëÉÈÊË", "eeeeeeee")
    return word.strip().lower().translate(table)
