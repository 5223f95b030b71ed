"""`newsletter dev sendgrid-sim` starts a simulator people can point the product at."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.delivery import Outcome
from newsletter.delivery.transports.sendgrid import SendGridTransport, parse_answer


def test_the_command_serves_until_interrupted() -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from newsletter.cli import main; main()",
            "dev",
            "sendgrid-sim",
            "--port",
            "0",
            "--api-key",
            "SG.trial",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("SendGrid simulator listening on http://127.0.0.1:")
            url = first.split()[-1]
            body = {
                "personalizations": [{"to": [{"email": "a@example.org"}]}],
                "from": {"email": "news@example.org"},
                "subject": "s",
                "content": [{"type": "text/plain", "value": "x"}],
            }
            answer = SendGridTransport("SG.trial", host=url, timeout=5).submit(body)
            assert parse_answer(answer).outcome is Outcome.SUBMITTED
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_a_ratio_outside_0_1_is_refused() -> None:
    result = CliRunner().invoke(app, ["dev", "sendgrid-sim", "--rate-limited", "1.5"])
    assert result.exit_code == 2
    assert "--rate-limited" in result.output and "less than or equal to 1" in result.output
