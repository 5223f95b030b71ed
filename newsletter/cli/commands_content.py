"""Commands for issues and rendering: init, render, preview, demo."""

from __future__ import annotations
