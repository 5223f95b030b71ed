"""The PDF versions on the web (/archive/<slug>/<lang>.pdf, which wins over the web version's
route) and attached to a press send, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.services import issues, sends
from tests.services.test_press_pdf import open_pdf, plain
from tests.web.press_fixtures import ME, SLUG, Press, embargoed, press_env

__all__ = ["press_env"]

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
INFOLETTRE_SLUG = "2025-05-06-infolettre"


def test_a_sent_issue_has_its_pdf_beside_its_web_version(press_env: Press) -> None:
    env, client = press_env, press_env.client
    saved = issues.import_file(env.core, ME, env.workspace.root / INFOLETTRE)
    assert client.get(f"/archive/{INFOLETTRE_SLUG}/fr.pdf").status_code == 404  # not sent
    send_id = sends.start(env.core, ME, saved.slug, list_name="presse")
    sends.drive(env.core, send_id)
    answer = client.get(f"/archive/{INFOLETTRE_SLUG}/fr.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'inline; filename="{INFOLETTRE_SLUG}.fr.pdf"')
    assert "public" in answer.headers["cache-control"]
    opened = open_pdf(answer.content)
    assert opened.tagged and opened.language == "fr" and "À la une" in opened.text
    assert open_pdf(client.get(f"/archive/{INFOLETTRE_SLUG}/en.pdf").content).language == "en"
    # The HTML web version keeps its own address; a language the issue lacks has no PDF.
    page = client.get(f"/archive/{INFOLETTRE_SLUG}/fr")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.get(f"/archive/{INFOLETTRE_SLUG}/de.pdf").status_code == 404
    assert client.get("/archive/nothing/fr.pdf").status_code == 404


def test_a_press_send_can_carry_the_pdf_of_each_language(press_env: Press) -> None:
    env = press_env
    env.clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    result = env.send(embargoed(env.workspace, "2026-03-10T10:00:00-04:00"), attach_pdf=True)
    assert result.attachments == ("rqic-alena-2017-organisations.txt", f"{SLUG}.fr.pdf",
                                  f"{SLUG}.en.pdf")  # fmt: skip
    (message,) = env.messages_to("isabelle.gauthier1@example.org")
    files = {part.get_filename(): part for part in message.parsed().iter_attachments()}
    assert set(files) == set(result.attachments)
    data = files[f"{SLUG}.fr.pdf"].get_content()
    assert files[f"{SLUG}.fr.pdf"].get_content_type() == "application/pdf"
    text = plain(open_pdf(data).text)
    assert "SOUS EMBARGO JUSQU'AU 10 mars 2026 à 10 h 00 HAE" in text and "-30-" in text
