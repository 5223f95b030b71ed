"""Commands for the studio's users: users add|list|disable|enable|set-role|reset-password."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.services import users

users_app = typer.Typer(help="The studio's users and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")

EmailArg = Annotated[str, typer.Argument(help="The user's email address (their sign-in).")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
]


def _password(from_stdin: bool) -> str:
    """The password, typed twice on a terminal (never echoed), or one line of stdin."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[str, typer.Option("--role", help="author, editor or admin.")],
    name: Annotated[str, typer.Option("--name", help="Name shown in the studio.")] = "",
    language: Annotated[str, typer.Option("--language", help="fr or en.")] = "fr",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a studio account (at least 12 characters of password)."""
    st = state(ctx)
    password = _password(password_stdin)
    with st.core() as core:
        info = users.add_user(core, st.actor, email, password, role=role, name=name,
                              language=language)  # fmt: skip
    console.print(f"user {info.email} added ({info.role.value})", highlight=False)


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every account with its role."""
    st = state(ctx)
    with st.core() as core:
        found = users.list_users(core, st.actor)
    table = Table("email", "name", "role", "language", "state", title="Studio users")
    for user in found:
        table.add_row(user.email, user.name, user.role.value, user.language,
                      "disabled" if user.disabled else "active")  # fmt: skip
    console.print(table)


@users_app.command("disable")
def users_disable(ctx: typer.Context, email: EmailArg) -> None:
    """Disable an account; its sessions end at once."""
    st = state(ctx)
    with st.core() as core:
        users.disable(core, st.actor, email)
    console.print(f"user {email} disabled", highlight=False)


@users_app.command("enable")
def users_enable(ctx: typer.Context, email: EmailArg) -> None:
    """Let a disabled account sign in again."""
    st = state(ctx)
    with st.core() as core:
        users.enable(core, st.actor, email)
    console.print(f"user {email} enabled", highlight=False)


@users_app.command("set-role")
def users_set_role(
    ctx: typer.Context,
    email: EmailArg,
    role: Annotated[str, typer.Argument(help="author, editor or admin.")],
) -> None:
    """Give an account another role; its sessions end."""
    st = state(ctx)
    with st.core() as core:
        users.set_role(core, st.actor, email, role)
    console.print(f"user {email} is now {role}", highlight=False)


@users_app.command("reset-password")
def users_reset_password(
    ctx: typer.Context, email: EmailArg, password_stdin: PasswordStdin = False
) -> None:
    """Set a new password; the account's sessions end."""
    st = state(ctx)
    password = _password(password_stdin)
    with st.core() as core:
        users.reset_password(core, st.actor, email, password)
    console.print(f"password of {email} changed; its sessions ended", highlight=False)
