"""Email addresses: normalization (domain lower-cased, IDNA; local part kept), hash, roles."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from newsletter.errors import AudienceError

# Shared mailboxes: worth a warning at import, since consent from "info@" is nobody's consent.
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "accounts", "admin", "administration", "billing", "bonjour", "communications",
        "contact", "courrier", "do-not-reply", "donotreply", "hello", "help", "hostmaster",
        "info", "information", "infos", "mailer-daemon", "marketing", "no-reply", "noreply",
        "office", "postmaster", "reception", "sales", "secretariat", "support", "webmaster",
    }
)  # fmt: skip


class InvalidAddress(AudienceError):
    """An address that is not a syntactically valid email address."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address!r} is not a valid email address: {reason}")


# RFC 5322 dot-atom of ASCII atext: the common case, which email-validator always accepts; the
# domain still goes through email-validator (cached per domain, since lists share a few).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@lru_cache(maxsize=8192)
def _domain(domain: str) -> str | None:
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return result.ascii_domain.lower()


def normalize_address(raw: str) -> str:
    """The stored form of ``raw``: trimmed, domain lower-cased and IDNA-encoded, local part kept.

    Syntax only (no DNS). ``.test`` names are accepted: they are the reserved examples.
    """
    candidate = raw.strip()
    if not candidate:
        raise InvalidAddress(raw, "empty")
    local, at, domain = candidate.rpartition("@")
    if at and len(candidate) <= 254 and len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local):
        ascii_domain = _domain(domain)
        if ascii_domain is not None:
            return f"{local}@{ascii_domain}"
    try:
        result = validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as err:
        raise InvalidAddress(candidate, str(err)) from err
    local = candidate.rsplit("@", 1)[0]
    return f"{local}@{result.ascii_domain.lower()}"


def address_hash(address: str) -> str:
    """SHA-256 of the normalized address, compared case-insensitively on the local part too.

    Unkeyed on purpose: a suppression must outlive a rotation of the secret key.
    """
    local, _, domain = address.rpartition("@")
    return hashlib.sha256(f"{local.lower()}@{domain.lower()}".encode()).hexdigest()


def is_role_address(address: str) -> bool:
    local = address.rpartition("@")[0].lower()
    return local.split("+", 1)[0] in ROLE_LOCAL_PARTS
