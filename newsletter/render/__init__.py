"""Jinja -> MJML -> inlined CSS -> text, and the personalization template compiled once."""
