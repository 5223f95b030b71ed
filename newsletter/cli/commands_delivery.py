"""Commands for delivery: send, sends, worker, dev sendgrid-sim."""

from __future__ import annotations
