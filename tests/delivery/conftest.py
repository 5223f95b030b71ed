"""Fixtures for delivery tests; the helpers themselves live in delivery_fakes."""

from delivery_fakes import make_batch

__all__ = ["make_batch"]
