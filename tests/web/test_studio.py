"""The studio in-process: sign-in, sessions, CSRF, roles enforced by the services, the issue
pages and the send flow, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.config import Workspace
from newsletter.services import audit, issues, users
from newsletter.services.core import Core, terminal_actor
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from tests.delivery.ledger_fixtures import populate
from tests.web.web_fixtures import BASE, Clock, WebClient

ME = terminal_actor()
PASSWORD = "correct horse battery"
INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"
SLUG = "2025-05-06-infolettre"


class Browser:
    """One browser: its cookies, and the Origin its forms post from."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"Cookie": jar} if jar else {}), **(extra or {})}

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header or 'expires=Thu, 01 Jan 1970' in header or value in ('""', ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def get(self, path: str) -> httpx.Response:
        return self._keep(self.client.get(path, headers=self._headers()))

    def post(self, path: str, data: dict[str, str], *, origin: str | None = BASE) -> httpx.Response:
        extra = {"Origin": origin} if origin else {}
        return self._keep(self.client.post(path, data=data, headers=self._headers(extra)))

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = self.get("/studio/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token is not None
        return self.post("/studio/login", {"login_token": token.group(1), "email": email,
                                           "password": password, "next": "/studio/"})

    def csrf(self, path: str = "/studio/") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found is not None
        return found.group(1)


@pytest.fixture
def studio(site: Workspace, store: Store, tmp_path: Path, clock: Clock,
           transport: MemoryTransport) -> Iterator[tuple[WebClient, Core]]:  # fmt: skip
    populate(store, tmp_path, "infolettre", 4)
    app = create_app(site, transport=transport, clock=clock)
    core = app.state.core
    for email, role in (("autrice@example.org", "author"), ("editeur@example.org", "editor"),
                        ("admin@example.org", "admin")):  # fmt: skip
        users.add_user(core, ME, email, PASSWORD, role=role, name=email.split("@")[0])
    with WebClient(app) as client:
        yield client, core


def test_the_way_in_and_out(studio: tuple[WebClient, Core]) -> None:
    client, _core = studio
    assert client.get("/").headers["location"] == "/archive"
    answer = client.get("/studio/issues")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/studio/login?next=/studio/issues"
    browser = Browser(client)
    assert browser.sign_in("editeur@example.org", "wrong password!!").status_code == 403
    signed = browser.sign_in("editeur@example.org")
    assert signed.status_code == 303 and "studio_session" in browser.cookies
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/studio" in cookie
    home = browser.get("/studio/")
    assert home.status_code == 200 and "editeur" in home.text
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[1]
    assert browser.get("/").headers["location"] == "/studio/"
    browser.post("/studio/logout", {"csrf": browser.csrf()})
    assert browser.get("/studio/").status_code == 303


def test_sign_in_is_throttled_per_account(studio: tuple[WebClient, Core]) -> None:
    client, _core = studio
    browser = Browser(client)
    for _ in range(5):
        assert browser.sign_in("autrice@example.org", "not the password").status_code == 403
    refused = browser.sign_in("autrice@example.org")  # the right one, too late
    assert refused.status_code == 403 and "too many failed sign-ins" in refused.text


def test_sessions_end_when_idle_and_when_the_user_is_disabled(
    studio: tuple[WebClient, Core], clock: Clock
) -> None:
    client, core = studio
    browser = Browser(client)
    browser.sign_in("autrice@example.org")
    assert browser.get("/studio/").status_code == 200
    clock.advance(hours=8, seconds=1)
    assert browser.get("/studio/").status_code == 303
    browser.sign_in("autrice@example.org")
    assert browser.get("/studio/").status_code == 200
    users.disable(core, ME, "autrice@example.org")
    assert browser.get("/studio/").status_code == 303


def test_a_post_without_the_token_or_from_elsewhere_changes_nothing(
    studio: tuple[WebClient, Core],
) -> None:
    client, core = studio
    issues.import_file(core, ME, core.workspace.root / INFOLETTRE)
    browser = Browser(client)
    browser.sign_in("editeur@example.org")
    token = browser.csrf()
    assert browser.post(f"/studio/issues/{SLUG}/approve", {}).status_code == 403
    foreign = browser.post(f"/studio/issues/{SLUG}/approve", {"csrf": token},
                           origin="https://evil.example")  # fmt: skip
    assert foreign.status_code == 403
    assert issues.show(core, ME, SLUG).issue.approved_revision is None
    assert browser.post(f"/studio/issues/{SLUG}/approve", {"csrf": token}).status_code == 303
    assert issues.show(core, ME, SLUG).issue.approved_revision == 1


def test_an_author_cannot_approve_or_send_even_by_hand(studio: tuple[WebClient, Core]) -> None:
    client, core = studio
    issues.import_file(core, ME, core.workspace.root / INFOLETTRE)
    browser = Browser(client)
    browser.sign_in("autrice@example.org")
    page = browser.get(f"/studio/issues/{SLUG}")
    assert page.status_code == 200
    assert f'/studio/issues/{SLUG}/approve"' not in page.text  # hidden...
    token = browser.csrf()
    later = {"list": "infolettre", "at": "2999-01-01 08:00"}
    for action, data in (("approve", {}), ("send", {"list": "infolettre", "confirmed": "yes"}),
                         ("schedule", later)):  # fmt: skip
        answer = browser.post(f"/studio/issues/{SLUG}/{action}", {"csrf": token, **data})
        assert answer.status_code == 303 and "error=" in answer.headers["location"]
    # ... and refused by the services, each refusal in the audit log.
    assert issues.show(core, ME, SLUG).issue.approved_revision is None
    refused = [e.action for e in audit.entries(core, ME, by="autrice@example.org")
               if e.outcome == "refused"]  # fmt: skip
    assert {"issue.approve", "send.start", "schedule.create"} <= set(refused)


def test_a_communique_is_approved_by_someone_other_than_its_author(
    studio: tuple[WebClient, Core],
) -> None:
    client, core = studio
    author = users.list_users(core, ME)[2].actor  # editeur@example.org
    assert author.name == "editeur@example.org"
    saved = issues.import_file(core, author, core.workspace.root / COMMUNIQUE)
    browser = Browser(client)
    browser.sign_in("editeur@example.org")
    answer = browser.post(f"/studio/issues/{saved.slug}/approve", {"csrf": browser.csrf()})
    assert "someone%20other%20than%20its%20author" in answer.headers["location"]
    other = Browser(client)
    other.sign_in("admin@example.org")
    assert other.post(f"/studio/issues/{saved.slug}/approve",
                      {"csrf": other.csrf()}).status_code == 303  # fmt: skip
    assert issues.show(core, ME, saved.slug).issue.approved_revision == 1


def test_preview_then_send_after_a_confirmation_with_the_audience(
    studio: tuple[WebClient, Core], transport: MemoryTransport
) -> None:
    client, core = studio
    issues.import_file(core, ME, core.workspace.root / INFOLETTRE)
    browser = Browser(client)
    browser.sign_in("editeur@example.org")
    page = browser.get(f"/studio/issues/{SLUG}")
    assert page.text.count("<iframe") == 4 and page.text.count("sandbox") >= 4
    frame = browser.get(f"/studio/issues/{SLUG}/preview/fr")
    assert frame.status_code == 200 and "Camille" in frame.text
    assert "script-src" not in frame.headers["content-security-policy"]
    token = browser.csrf()
    confirm = browser.post(f"/studio/issues/{SLUG}/send", {"csrf": token, "list": "infolettre"})
    assert confirm.status_code == 200 and "4" in confirm.text
    started = browser.post(f"/studio/issues/{SLUG}/send",
                           {"csrf": token, "list": "infolettre", "confirmed": "yes"})  # fmt: skip
    assert started.status_code == 303 and started.headers["location"].startswith("/studio/sends/")
    send_page = browser.get(started.headers["location"].split("?")[0])
    assert send_page.status_code == 200 and "<progress" in send_page.text
    again = browser.post(f"/studio/issues/{SLUG}/send", {"csrf": token, "list": "infolettre"})
    assert 'name="again"' in again.text  # the earlier send is named, a repeat must be ticked


def test_an_edit_with_a_mistake_is_shown_beside_the_document(
    studio: tuple[WebClient, Core],
) -> None:
    client, core = studio
    issues.import_file(core, ME, core.workspace.root / INFOLETTRE)
    browser = Browser(client)
    browser.sign_in("autrice@example.org")
    document = (core.workspace.root / INFOLETTRE).read_text("utf-8")
    broken = document.replace("kind: infolettre", "kind: infolettres", 1)
    answer = browser.post(f"/studio/issues/{SLUG}/edit", {"csrf": browser.csrf(),
                                                          "document": broken})  # fmt: skip
    assert answer.status_code == 400 and "kind" in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert issues.show(core, ME, SLUG).issue.latest_revision == 1
    edited = {"csrf": browser.csrf(), "document": document + "# relu\n"}
    fixed = browser.post(f"/studio/issues/{SLUG}/edit", edited)
    assert fixed.status_code == 303 and "done=saved" in fixed.headers["location"]
    assert issues.show(core, ME, SLUG).issue.latest_revision == 2


def test_an_author_composes_an_infolettre_from_the_feeds(studio: tuple[WebClient, Core]) -> None:
    client, core = studio
    browser = Browser(client)
    browser.sign_in("autrice@example.org")
    page = browser.get("/studio/compose")
    assert page.status_code == 200
    urls = re.findall(r'name="op" value="add:([^"]+)"', page.text)
    assert len(urls) >= 4  # the example feeds' articles, French and English
    token = browser.csrf("/studio/compose")
    form = {"csrf": token, "slug": "2026-12-08-infolettre", "date": "2026-12-08",
            "lang_fr": "on", "fr_subject": "Infolettre du 8 décembre", "recent_count": "3",
            "recent_days": "3660"}  # fmt: skip
    picked = browser.post("/studio/compose", {**form, "op": f"add:{urls[0]}"})
    picked = browser.post("/studio/compose", {**form, "featured": urls[0], "op": f"add:{urls[1]}"})
    order = re.findall(r'name="featured" value="([^"]+)"', picked.text)
    assert order == [urls[0], urls[1]]
    moved = browser.post("/studio/compose", {**form, "featured": order, "op": "down:0"})
    assert re.findall(r'name="featured" value="([^"]+)"', moved.text) == [urls[1], urls[0]]
    wrong = browser.post("/studio/compose", {**form, "slug": "Pas Bon!", "featured": order,
                                             "op": "save"})  # fmt: skip
    assert wrong.status_code == 400
    assert 'id="slug"' in wrong.text and 'aria-describedby="err-slug"' in wrong.text
    saved = browser.post("/studio/compose", {**form, "featured": [urls[1], urls[0]],
                                             "op": "save"})  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/studio/issues/2026-12-08-infolettre")
    issue = issues.load(core, "2026-12-08-infolettre")
    assert [a.url for a in issue.infolettre["fr"].featured] == [urls[1], urls[0]]
    assert len(issue.infolettre["fr"].recent) == 3


def test_every_studio_string_is_in_both_languages_and_every_key_used_exists() -> None:
    from newsletter.web.studio.base import messages

    strings = messages()
    assert [key for key, texts in strings.items() if set(texts) != {"fr", "en"}] == []
    folder = Path(__file__).resolve().parents[2] / "newsletter" / "web"
    used: set[str] = set()
    for path in (folder / "templates" / "studio").glob("*.html"):
        # Whole keys only: "status_" ~ status builds one from a state, checked below.
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_-]+[a-z])["']\s*[,)]""",
                               path.read_text("utf-8")))  # fmt: skip
    for path in (folder / "studio").glob("*.py"):
        used |= set(re.findall(r"""\.t\(\s*"([a-z_-]+)\"""", path.read_text("utf-8")))
    assert used and sorted(used - set(strings)) == []
    for prefix, values in (("status_", ("draft", "awaiting-approval", "approved", "rejected")),
                           ("kind_", ("infolettre", "communique")),
                           ("role_", ("author", "editor", "admin"))):  # fmt: skip
        assert [v for v in values if prefix + v not in strings] == [], prefix
