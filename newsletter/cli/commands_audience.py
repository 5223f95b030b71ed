"""Commands for the store and the audience: db, subscribers, lists, segments, suppressions."""

from __future__ import annotations
