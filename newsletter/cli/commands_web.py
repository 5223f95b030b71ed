"""The `serve` command: the web app on uvicorn (the scheduler and the send worker join later)."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from newsletter.cli import app, console, state


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default: web.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (default: web.port).", min=1, max=65535),
    ] = None,
) -> None:
    """Serve the public pages (subscribe, confirm, unsubscribe, preferences).

    Stops cleanly on SIGTERM or Ctrl-C: requests under way finish, then the store closes.
    """
    # Imported here: FastAPI and uvicorn cost every other command a third of a second.
    import uvicorn

    from newsletter.web import create_app

    workspace = state(ctx).workspace()
    settings = workspace.settings
    web_app = create_app(workspace)
    config = uvicorn.Config(
        web_app,
        host=host or settings.web.host,
        port=port or settings.web.port,
        # uvicorn's own logging setup would replace the process's; keep its default handlers.
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    console.print(f"serving {settings.public_base_url} on http://{config.host}:{config.port}")
    # uvicorn installs SIGTERM and SIGINT handlers: it stops accepting, lets requests under
    # way finish, then runs the app's shutdown, which closes the transport and the store.
    # Afterwards it raises the signal again for the handler it found; this one records it, so
    # that a requested stop ends the command with status 0 instead of death by signal.
    received: list[int] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, _frame: received.append(signum))
    uvicorn.Server(config).run()
    if received:
        console.print(f"stopped on {signal.Signals(received[0]).name}")
