"""Generate fictional subscriber lists (CSV) of any size, on reserved domains only.

    python bench/gen_subscribers.py 100000 > /tmp/big.csv
    python bench/gen_subscribers.py 40 --press --seed 2 > subscribers/presse.csv

Rows stream to the output, so a million rows take no memory. Every address is on
example.org/.com/.net or a .test name: nothing here can reach a real mailbox.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TextIO

FIRST_FR = [
    "Marie",
    "Julie",
    "Sophie",
    "Isabelle",
    "Nathalie",
    "Catherine",
    "Geneviève",
    "Chantal",
    "Mélanie",
    "Émilie",
    "Audrey",
    "Camille",
    "Léa",
    "Chloé",
    "Maude",
    "Josée",
    "Hélène",
    "Sylvie",
    "Jean",
    "Pierre",
    "Michel",
    "François",
    "Luc",
    "Marc",
    "Éric",
    "Sébastien",
    "Mathieu",
    "Olivier",
    "Guillaume",
    "Étienne",
    "Benoît",
    "Alexandre",
    "Gabriel",
    "Félix",
    "Samuel",
    "Louis",
]
FIRST_EN = [
    "Mary",
    "Jennifer",
    "Sarah",
    "Emily",
    "Jessica",
    "Laura",
    "Rachel",
    "Megan",
    "Karen",
    "Linda",
    "Susan",
    "Helen",
    "John",
    "David",
    "Michael",
    "James",
    "Robert",
    "William",
    "Thomas",
    "Daniel",
    "Andrew",
    "Kevin",
    "Brian",
    "Steven",
    "Patrick",
    "Ryan",
]
LAST = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Poulin",
    "Thibault",
    "St-Pierre",
    "Nadeau",
    "Martin",
    "Smith",
    "Brown",
    "Wilson",
    "Taylor",
    "Campbell",
    "Anderson",
    "Macdonald",
    "Stewart",
    "Thompson",
    "Wright",
]
DOMAINS = ("example.org", "example.com", "example.net", "courriel.test", "syndicat.test")
ORGANISATIONS = (
    "Syndicat des travailleuses et travailleurs exemple", "Conseil central exemple",
    "Fédération de la santé exemple", "Cégep exemple", "Coopérative exemple",
    "Example Community Centre", "Université exemple", "",
)  # fmt: skip
OUTLETS = (
    ("Le Quotidien exemple", "fr"), ("Radio exemple", "fr"), ("La Presse exemple", "fr"),
    ("Le Journal exemple", "fr"), ("Télé exemple", "fr"), ("The Example Gazette", "en"),
    ("Example Radio News", "en"), ("Agence exemple", "fr"), ("Example Wire", "en"),
)  # fmt: skip
BEATS = (
    "travail", "syndicalisme", "politique", "économie", "santé", "éducation", "international",
    "labour", "politics", "business",
)  # fmt: skip
REGIONS = ("Montréal", "Québec", "Outaouais", "Saguenay", "Estrie", "Mauricie", "Ottawa")
SOURCES = (
    "formulaire d'inscription https://www.example.org/infolettre",
    "kiosque, congrès 2025",
    "adhésion au syndicat (relation d'affaires)",
)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isalnum() and ord(c) < 128).lower()


def subscribers(count: int, rng: random.Random, *, press: bool) -> Iterator[list[str]]:
    start = date(2025, 1, 1)
    for number in range(1, count + 1):
        language = "en" if rng.random() < 0.25 else "fr"
        first = rng.choice(FIRST_EN if language == "en" else FIRST_FR)
        last = rng.choice(LAST)
        email = f"{_ascii(first)}.{_ascii(last)}{number}@{rng.choice(DOMAINS)}"
        when = start + timedelta(days=rng.randrange(0, 700))
        implied = rng.random() < 0.2
        consent = "tacite" if implied else "exprès"
        source = SOURCES[2] if implied else rng.choice(SOURCES[:2])
        if press:
            outlet, outlet_language = rng.choice(OUTLETS)
            phone = f"514 555-{rng.randrange(0, 10000):04d}"
            yield [email, first, last, outlet_language, outlet, rng.choice(BEATS),
                   rng.choice(REGIONS), phone, "exprès", when.isoformat(),
                   "a demandé nos communiqués (appel à la salle de presse)"]  # fmt: skip
        else:
            yield [email, first, last, language, rng.choice(ORGANISATIONS), consent,
                   when.isoformat(), source]  # fmt: skip


HEADER = ["courriel", "prénom", "nom", "langue", "organisation", "consentement",
          "date du consentement", "source du consentement"]  # fmt: skip
PRESS_HEADER = ["courriel", "prénom", "nom", "langue", "média", "beat", "région", "téléphone",
                "consentement", "date du consentement", "source du consentement"]  # fmt: skip


def write(out: TextIO, count: int, *, seed: int, press: bool, delimiter: str) -> None:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(PRESS_HEADER if press else HEADER)
    writer.writerows(subscribers(count, random.Random(seed), press=press))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--press", action="store_true", help="press contacts (outlet, beat...)")
    parser.add_argument("--delimiter", default=",")
    args = parser.parse_args()
    sys.stdout.reconfigure(newline="")  # type: ignore[union-attr]
    write(sys.stdout, args.count, seed=args.seed, press=args.press, delimiter=args.delimiter)


if __name__ == "__main__":
    main()
