"""The `serve` command: the web app on uvicorn, the scheduler and a send worker in one process."""

from __future__ import annotations

import importlib
import signal
from typing import Annotated

import typer

from newsletter import app as wiring
from newsletter.cli import app, console, state

WEB_PACKAGE = "newsletter.web"


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
    """Serve the public pages, run scheduled sends at their time, and drive sends.

    Stops cleanly on SIGTERM or Ctrl-C: requests under way finish, the scheduler stops, the
    worker finishes the batch in hand (a send resumes at the next start), then the store closes.
    """
    # Imported here: uvicorn costs every other command time for nothing.
    import uvicorn

    st = state(ctx)
    workspace = st.workspace()
    settings = workspace.settings
    # The store is opened here, so that one to upgrade is a one-line error, not a uvicorn
    # traceback; the web app is handed this core. Nothing imports the web layer (the import
    # contracts): it is found by name, as uvicorn would.
    core = wiring.open_core(workspace)
    web = importlib.import_module(WEB_PACKAGE)
    config = uvicorn.Config(
        web.create_app(core),
        host=host or settings.web.host,
        port=port or settings.web.port,
        # uvicorn's own logging setup would replace the process's; keep its default handlers.
        log_config=None,
        server_header=False,
        # Forwarded headers are read by the app, from web.trusted_proxies only (web/edge.py);
        # uvicorn's default would believe X-Forwarded-For from any local peer.
        proxy_headers=False,
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
    try:
        with wiring.background(workspace):
            uvicorn.Server(config).run()
    finally:
        core.close()
    if received:
        console.print(f"stopped on {signal.Signals(received[0]).name}")
