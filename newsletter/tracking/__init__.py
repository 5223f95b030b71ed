"""Tracking: provider events normalized into Events, webhook verification, and (later) our own
open and click tokens and the reports."""
