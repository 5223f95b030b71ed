"""Subscribers, lists, segments, consent, tokens, suppression, CSV import and export."""
