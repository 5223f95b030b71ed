"""Commands for delivery: send, sends, worker, dev sendgrid-sim."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from newsletter.cli import app, console

dev = typer.Typer(help="Tools for trying the product without a provider.", no_args_is_help=True)
app.add_typer(dev, name="dev")


@dev.command("sendgrid-sim")
def sendgrid_sim(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8025,
    api_key: Annotated[
        str, typer.Option(help="The key clients must send (set NEWSLETTER_SENDGRID_API_KEY to it).")
    ] = "SG.simulator-key",
    rate_limited: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Ratio of requests answered 429.")
    ] = 0.0,
    server_error: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Ratio of requests answered 500.")
    ] = 0.0,
    slow: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Ratio of requests answered slowly.")
    ] = 0.0,
    drop: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Ratio of requests accepted, then the connection dropped."
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
) -> None:
    """Run a local SendGrid simulator until interrupted (Ctrl-C)."""
    from newsletter.testing.sendgrid_sim import Faults, SendGridSimulator

    faults = Faults(rate_limited=rate_limited, server_error=server_error, slow=slow, drop=drop)
    try:
        sim = SendGridSimulator(api_key=api_key, port=port, faults=faults, seed=seed)
    except OSError as err:
        raise typer.BadParameter(
            f"cannot listen on 127.0.0.1:{port}: {err}", param_hint="--port"
        ) from err
    sim.start()
    console.print(f"SendGrid simulator listening on {sim.url}", highlight=False)
    console.print(f"  NEWSLETTER_SENDGRID_HOST={sim.url}", highlight=False)
    console.print("  NEWSLETTER_SENDGRID_API_KEY=<the --api-key value>", highlight=False)
    console.print(f"  webhook public key: {sim.public_key_b64}", highlight=False)
    console.file.flush()  # someone may be reading the address from a pipe
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        console.print(f"accepted {sim.accepted_count()} recipient(s)", highlight=False)
