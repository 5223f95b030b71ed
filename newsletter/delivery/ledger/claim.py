"""A Batch a worker holds in ``submitting``: what claiming gives and recording takes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """A Batch this worker holds in ``submitting``."""

    batch_id: int
    send_id: int
    number: int
    language: str
    attempts: int  # including this one
    worker: str
