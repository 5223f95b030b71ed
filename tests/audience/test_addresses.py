"""Address normalization: trimmed, domain lower-cased and IDNA-encoded, local part kept."""

from __future__ import annotations

import pytest

from newsletter.audience.addresses import (
    InvalidAddress,
    address_hash,
    is_role_address,
    normalize_address,
)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  Marie.Tremblay@Example.ORG ", "Marie.Tremblay@example.org"),
        ("jean@exémple.test", "jean@xn--exmple-cva.test"),
        ("press+fr@EXAMPLE.net", "press+fr@example.net"),
    ],
)
def test_normalization(raw: str, stored: str) -> None:
    assert normalize_address(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "marie",
        "marie@",
        "@example.org",
        "a b@example.org",
        "marie@@example.org",
        "marie@example..org",
    ],
)
def test_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize_address(raw)


def test_hash_ignores_case_so_suppression_cannot_be_dodged() -> None:
    assert address_hash("Marie@example.org") == address_hash("marie@EXAMPLE.org")


def test_role_addresses() -> None:
    assert is_role_address("info@example.org") and is_role_address("noreply@example.org")
    assert not is_role_address("marie@example.org")
