"""Scheduling: a thin APScheduler adapter that only starts sends at the right time."""
