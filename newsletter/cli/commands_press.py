"""Commands for the press: pdf, replies, press send, press preview-link."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from newsletter.cli import app, console, is_issue_file, state
from newsletter.cli.commands_delivery import (
    TransportOption,
    _drive,
    _exit_for,
    _print_status,
    _slug,
    confirm_audience,
)
from newsletter.errors import Invalid
from newsletter.services import pdfs, press, replies

press_app = typer.Typer(
    help="Communiqués for the press: send under embargo, preview links.", no_args_is_help=True
)
app.add_typer(press_app, name="press")

LangOption = Annotated[
    str | None, typer.Option("--lang", "-l", help="One language (fr or en); default: each.")
]


@app.command()
def pdf(
    ctx: typer.Context,
    issue: Annotated[
        str, typer.Argument(help="Issue slug, or an issue file (YAML, rendered without storing).")
    ],
    lang: LangOption = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Directory for <slug>.<lang>.pdf, or a file name "
                     "ending in .pdf for one language."),
    ] = Path("build"),
) -> None:
    """Write the PDF version of an issue, per language: letterhead, release status or embargo,
    page numbers, "-30-", tagged for accessibility (PDF/UA-1).

    A slug gives its approved revision's PDF (the one the archive and newsroom serve), or, when
    no revision is approved, the latest one's, marked as a draft. A file is rendered as it is.
    """
    st = state(ctx)
    with st.core() as core:
        if is_issue_file(issue):
            made = pdfs.file_pdfs(core, Path(issue), language=lang)
        else:
            made = pdfs.issue_pdfs(core, st.actor, issue, language=lang)
    if out.suffix.lower() == ".pdf":
        if len(made) != 1:
            raise Invalid(
                f"{out}: one file holds one language, and the issue has {len(made)}; "
                "name a language, or give a directory",
                field="language",
            )
        targets = [(made[0], out)]
    else:
        targets = [(item, out / item.filename) for item in made]
    for item, path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        if item.revision is None:
            state_note = "from the file"
        elif item.approved:
            state_note = f"approved revision {item.revision}"
        else:
            state_note = f"revision {item.revision}, not approved: marked as a draft"
        console.print(f"wrote {path} ({len(item.data) // 1024 + 1} KB, {state_note})",
                      highlight=False, soft_wrap=True)  # fmt: skip


@app.command("replies")
def replies_command(
    ctx: typer.Context,
    send_id: Annotated[
        int | None,
        typer.Argument(help="Only the replies to this send (see `newsletter sends list`)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    full: Annotated[bool, typer.Option("--full", help="Each reply's whole text.")] = False,
    forward: Annotated[
        bool, typer.Option("--forward", help="First forward again the replies whose forwarding "
                           "is pending or failed.")
    ] = False,
) -> None:
    """Replies to communiqués received through SendGrid's Inbound Parse, newest first: who
    wrote (and the press contact), to which send, and whether it went to the contact person."""
    st = state(ctx)
    with st.core() as core:
        if forward:
            for done in replies.forward_pending(core, st.actor):
                verdict = "forwarded" if done.ok else f"not forwarded: {done.message}"
                console.print(f"reply {done.reply_id} to {done.to}: {verdict}",
                              markup=False, highlight=False, soft_wrap=True)  # fmt: skip
        found = replies.listed(core, st.actor, send_id=send_id, limit=limit)
    if not found:
        console.print("no reply received" + (f" to send {send_id}" if send_id else ""))
        return
    for item in found:
        who = f"{item.from_name} <{item.from_address}>" if item.from_name else item.from_address
        where = f"send {item.send_id} ({item.issue_slug})" if item.send_id else (
            item.issue_slug or "no send of ours")  # fmt: skip
        forwarded = {"forwarded": f"forwarded to {item.forward_to}",
                     "failed": f"forwarding to {item.forward_to} failed",
                     "pending": f"to forward to {item.forward_to}"}.get(
                         item.forward_status, "not forwarded")  # fmt: skip
        text = " ".join(item.text.split())
        lines = [
            f"#{item.id}  {item.received_at:%Y-%m-%d %H:%M} UTC  {where}",
            f"  from:    {who}" + (f" ({item.contact})" if item.contact else ""),
            f"  subject: {item.subject}",
            f"  text:    {text if full else text[:200] + ('…' if len(text) > 200 else '')}",
        ]
        if item.attachments:
            lines.append(f"  files:   {', '.join(item.attachments)}")
        lines.append(f"  {forwarded}" + (f"; spam score {item.spam_score}" if item.spam_score
                                          else ""))  # fmt: skip
        for line in lines:
            console.print(_printable(line), markup=False, highlight=False, soft_wrap=True)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


@press_app.command("send")
def press_send(
    ctx: typer.Context,
    issue: Annotated[
        str, typer.Argument(help="Communiqué slug, or its file (YAML) to import first.")
    ],
    list_name: Annotated[str, typer.Option("--list", help="The press list (e.g. presse).")],
    segment: Annotated[str | None, typer.Option(help="A segment of that list.")] = None,
    transport_name: TransportOption = None,
    attach_pdf: Annotated[
        bool, typer.Option("--attach-pdf", help="Attach the PDF version in each language.")
    ] = False,
    track_replies: Annotated[
        bool,
        typer.Option("--track-replies/--no-track-replies",
                     help="A tracked Reply-To (when press.reply_domain is set)."),
    ] = True,
    again: Annotated[
        bool, typer.Option("--again", help="Send even though it already went to the list.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts).")
    ] = False,
) -> None:
    """Send a communiqué to the press, before its embargo too.

    Under embargo, the email says "SOUS EMBARGO JUSQU'AU ..." and its web-version link is a
    signed preview of the newsroom page that expires at the embargo; the page, its PDF and the
    archive stay hidden from everyone else until that instant, then become public at the same
    address. With press.reply_domain set, replies come back through SendGrid's Inbound Parse
    (`newsletter replies`) and are forwarded to the communiqué's media contact.
    """
    st = state(ctx)
    with st.core() as core:
        slug = _slug(core, st, issue)
        confirm_audience(core, st, slug, list_name, segment, yes=yes)
        result = press.start(core, st.actor, slug, list_name=list_name, segment=segment,
                             transport=transport_name, again=again, attach_pdf=attach_pdf,
                             track_replies=track_replies)  # fmt: skip
        console.print(f"send {result.send_id} created", highlight=False)
        if result.embargo_until is not None and result.preview_urls:
            zone = ZoneInfo(core.workspace.settings.timezone)
            when = result.embargo_until.astimezone(zone)
            console.print(f"under embargo until {when:%Y-%m-%d %H:%M %Z} ({zone.key}); "
                          "the recipients' preview links:", highlight=False)  # fmt: skip
        for language, url in result.preview_urls.items():
            console.print(f"  {language}  {url}", markup=False, highlight=False, soft_wrap=True)
        if result.reply_address:
            console.print(f"replies to {result.reply_address}, forwarded to "
                          f"{result.forward_to or 'no one'}", highlight=False)  # fmt: skip
        for name in result.attachments:
            console.print(f"attached {name}", highlight=False)
        status = _drive(core, result.send_id)
    _print_status(status)
    _exit_for(status)


@press_app.command("preview-link")
def preview_link(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The communiqué under embargo.")],
    lang: LangOption = None,
) -> None:
    """Print the signed preview link of a communiqué under embargo (for a journalist who asks
    after the send); it opens the newsroom page and PDF until the embargo."""
    st = state(ctx)
    with st.core() as core:
        links = press.preview_link(core, st.actor, slug, lang)
    # One line each, never folded: the link is copied whole into a message to the journalist.
    for language, url in links.items():
        console.print(f"{language}  {url}", markup=False, highlight=False, soft_wrap=True)
