"""Settings declared once (name, default, help), read from newsletter.toml and NEWSLETTER_* vars.

Every setting is a field of one of the section models below; its environment variable is
``NEWSLETTER_<SECTION>_<NAME>`` (``NEWSLETTER_<NAME>`` for the top-level ones), and the
environment wins over the file. ``tests/test_config.py`` fails when one is missing from the
README. Table-valued settings (the social profiles, the per-language blurb) take JSON in the
environment.

The *workspace* is the directory holding ``newsletter.toml``, ``templates/``, ``issues/`` and
``subscribers/``: ``--workspace``, else ``NEWSLETTER_HOME``, else the first directory upward from
the current one that holds a ``newsletter.toml``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsletter.errors import ConfigurationError

CONFIG_FILE = "newsletter.toml"
ENV_PREFIX = "NEWSLETTER_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrandSettings(_Section):
    name: str = Field("Organisation exemple", description="Organisation name shown in emails.")
    logo_url: str = Field(
        "https://www.example.org/logo.png", description="Absolute URL of the logo image."
    )
    logo_dark_url: str = Field(
        "",
        description="Absolute URL of a variant of the logo for dark backgrounds, shown by mail "
        "clients in dark mode; empty: the logo.",
    )
    logo_alt: str | dict[str, str] = Field(
        "",
        description='Alt text of the logo, one for every language or one per language '
        '({fr = "...", en = "..."}); default: the brand name.',
    )
    website: str = Field("https://www.example.org", description="Organisation website.")
    primary_color: str = Field("#c8102e", description="Main colour (header, buttons).")
    text_color: str = Field("#222222", description="Body text colour.")
    background_color: str = Field("#f4f4f4", description="Colour around the email body.")
    postal_address: str = Field(
        "", description="Postal address printed in every email footer (CASL requires one)."
    )
    contact_email: str = Field("", description="Contact address printed in the footer.")
    phone: str = Field("", description="Contact phone printed in the footer.")
    blurb: dict[str, str] = Field(
        default_factory=dict,
        description='Organisation blurb per language, e.g. {fr = "...", en = "..."}.',
    )
    social: dict[str, str] = Field(
        default_factory=dict,
        description="Social profile URLs by network (facebook, instagram, linkedin, youtube, ...).",
    )
    social_icons_url: str = Field(
        "",
        description="Address on your own site of the social icons (<network>.png, as shipped in "
        "templates/icons/: copy them there); empty: the profiles are text links, without icons.",
    )


    @field_validator("logo_alt")
    @classmethod
    def _per_language(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        return _per_language(value)


def _per_language(value: str | dict[str, str]) -> str | dict[str, str]:
    """A text, or texts keyed by the product's languages."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"fr", "en"})
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: give the text per language, fr and en")
    return value


class SenderSettings(_Section):
    name: str = Field("Organisation exemple", description="From display name (ASCII or not).")
    email: str = Field("infolettre@example.org", description="From address (ASCII only).")
    reply_to: str = Field("", description="Reply-To address; empty means none.")
    unsubscribe_email: str = Field(
        "",
        description="Address of the List-Unsubscribe mailto: link; empty means the From address.",
    )


class IdentitySettings(_Section):
    """Another organisation an issue may speak for (a coalition's communiqué): `identity: KEY`
    in the issue file. Its From address, logo, footer and "À propos" replace the brand's."""

    name: str = Field(min_length=1)  # the organisation's name, printed
    email: str  # From address (ASCII only)
    from_name: str = ""  # From display name; default: the name
    reply_to: str = ""  # empty: the [sender] reply_to
    logo_url: str = ""  # empty: the name, printed where the logo goes
    logo_dark_url: str = ""  # a variant for dark backgrounds
    logo_alt: str | dict[str, str] = ""  # default: the name
    website: str = ""
    postal_address: str = ""  # printed in the footer (CASL requires one: a check says so)
    contact_email: str = ""
    phone: str = ""
    about_title: str | dict[str, str] = ""  # default: "À propos de <name>"
    boilerplate: str | dict[str, str] = ""  # Markdown: the "À propos" text and footer blurb
    social: dict[str, str] = Field(default_factory=dict)

    @field_validator("email", "reply_to")
    @classmethod
    def _address(cls, value: str) -> str:
        if value and not _FROM_ADDRESS.fullmatch(value):
            raise ValueError(f"{value!r} is not an e-mail address in ASCII (name@example.org)")
        return value

    @field_validator("logo_alt", "about_title", "boilerplate")
    @classmethod
    def _per_language(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        return _per_language(value)


_FROM_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IDENTITY_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class FetchSettings(_Section):
    timeout: float = Field(10.0, description="Seconds to wait for a feed or page.", gt=0)
    max_bytes: int = Field(5_000_000, description="Largest feed or page accepted, in bytes.", gt=0)
    max_redirects: int = Field(3, description="Redirects followed when fetching.", ge=0)


class SendGridSettings(_Section):
    api_key: str = Field("", description="SendGrid API key (secret: never printed or logged).")
    host: str = Field(
        "https://api.sendgrid.com",
        description="SendGrid API base URL; point it at `newsletter dev sendgrid-sim` for trials.",
    )
    timeout: float = Field(30.0, description="Seconds to wait for one mail/send request.", gt=0)
    webhook_public_key: str = Field(
        "",
        description="Event Webhook verification key (base64 DER, from SendGrid's settings page).",
    )
    webhook_tolerance: float = Field(
        600.0,
        description="Seconds a signed webhook timestamp may differ from our clock (replays).",
        gt=0,
    )
    webhook_max_bytes: int = Field(
        4_000_000,
        description="Largest webhook body accepted, in bytes (SendGrid batches up to 768 KB).",
        gt=0,
    )


class WebSettings(_Section):
    host: str = Field("127.0.0.1", description="Address `newsletter serve` listens on.")
    port: int = Field(8000, description="Port `newsletter serve` listens on.", ge=1, le=65535)
    public_lists: str = Field(
        "infolettre",
        description="Comma-separated lists that the public subscribe form offers.",
    )
    subscribe_rate_limit: int = Field(
        5, description="Subscribe form posts accepted per address (IP) per window.", ge=1
    )
    subscribe_rate_window: float = Field(
        600.0, description="Seconds of the subscribe rate-limit window.", gt=0
    )
    allowed_hosts: str = Field(
        "",
        description="Comma-separated host names the pages answer to besides public_base_url's "
        "(e.g. www.example.org); requests naming another Host get 400.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (10.0.0.0/8) of the proxies whose "
        "X-Forwarded-For is believed; empty means none.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as err:
                raise ValueError(f"{item!r} is not an IP address or network (10.0.0.0/8)") from err
        return value

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        items = _items(self.trusted_proxies)
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)

    @property
    def extra_hosts(self) -> tuple[str, ...]:
        return tuple(item.lower() for item in _items(self.allowed_hosts))


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class SmtpSettings(_Section):
    url: str = Field(
        "",
        description="SMTP server, e.g. smtp://user:pass@host:587?starttls=1 or smtps://host:465.",
    )
    timeout: float = Field(30.0, description="Seconds to wait for the SMTP server.", gt=0)


class DeliverySettings(_Section):
    messages_per_second: float = Field(
        0.0,
        description="Most recipients a worker hands each transport per second; 0 means no limit.",
        ge=0,
    )
    concurrency: int = Field(
        1,
        description="Batches a worker submits at once (threads, each with its own connection).",
        ge=1,
        le=64,
    )
    max_errors: int = Field(
        20,
        description="Failed or unanswered batches in a row after which a send pauses itself.",
        ge=1,
    )
    max_attempts: int = Field(
        8, description="Submissions of one batch before a retryable refusal counts as failed.", ge=1
    )


class TrackingSettings(_Section):
    open_tracking: bool = Field(
        True,
        description="Open pixel: ours in SMTP and outbox sends, SendGrid's in SendGrid sends.",
    )
    click_tracking: bool = Field(
        True,
        description="Click redirects: ours in SMTP and outbox sends, SendGrid's in SendGrid sends.",
    )
    scanner_seconds: float = Field(
        2.0,
        description="Clicks this soon after sending are counted as link scanners, not people.",
        ge=0,
    )


class ScheduleSettings(_Section):
    grace: float = Field(
        3600.0,
        description="Seconds a scheduled send may start late (the service was down); "
        "later, it is marked missed and not sent.",
        ge=0,
    )


class StudioSettings(_Section):
    session_idle: float = Field(
        8 * 3600.0, description="Seconds of inactivity after which a studio session ends.", gt=0
    )
    session_max: float = Field(
        7 * 24 * 3600.0,
        description="Seconds after sign-in at which a studio session ends, however active.",
        gt=0,
    )
    login_attempts: int = Field(
        5, description="Failed sign-ins per account, and per address, allowed per window.", ge=1
    )
    login_window: float = Field(
        900.0, description="Seconds of the sign-in throttling window.", gt=0
    )


class PressSettings(_Section):
    inbound_secret: str = Field(
        "",
        description="Secret last segment of the SendGrid Inbound Parse URL "
        "(<public_base_url>/webhooks/inbound/<secret>), 16 or more letters, digits, '-' or '_'; "
        "empty turns the endpoint off (secret: never printed or logged).",
    )
    inbound_max_bytes: int = Field(
        40_000_000,
        description="Largest Inbound Parse post accepted, in bytes (SendGrid's whole message is "
        "at most 30 MB); a larger one gets 413 and nothing is stored.",
        gt=0,
    )
    reply_domain: str = Field(
        "",
        description="Domain whose mail SendGrid Inbound Parse receives (its MX is "
        "mx.sendgrid.net); when set, communiqués sent with `newsletter press send` get a "
        "tracked Reply-To there. Empty: replies go to the sender's reply_to.",
    )

    @field_validator("inbound_secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if value and not _URL_SECRET.fullmatch(value):
            # The value itself is never repeated: it is a secret.
            raise ValueError("16 or more letters, digits, '-' or '_' are needed")
        return value

    @field_validator("reply_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower()
        if value and not _DOMAIN.fullmatch(value):
            raise ValueError(f"{value!r} is not a domain name such as reponses.example.org")
        return value


_URL_SECRET = re.compile(r"[A-Za-z0-9_-]{16,200}")
_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class TypographySettings(_Section):
    french_punctuation_space: Literal["narrow", "nbsp", "none"] = Field(
        "narrow",
        description="Space before ; ! ? in French: narrow (a narrow non-breaking space, the "
        "OQLF's espace fine), none (no space, common Québec usage) or nbsp (a full "
        "non-breaking space). The colon and guillemets always get a non-breaking space.",
    )


class Settings(_Section):
    database_url: str = Field(
        "", description="SQLAlchemy URL of the store; empty means SQLite at var/newsletter.db."
    )
    secret_key: str = Field(
        "",
        description="Key that signs tokens; empty means one generated into var/secret.key.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address of the web pages, used in unsubscribe and web-version links.",
    )
    timezone: str = Field("America/Toronto", description="Zone in which times are shown.")
    default_language: str = Field("fr", description="Language used when none is known.")
    transport: Literal["sendgrid", "smtp", "outbox"] = Field(
        "outbox", description="Transport: sendgrid, smtp or outbox."
    )
    identities: dict[str, IdentitySettings] = Field(
        default_factory=dict,
        description="Other organisations an issue may speak for (`identity: KEY` in the issue "
        "file), each a table [identities.KEY]: name, email, from_name, reply_to, logo_url, "
        "logo_dark_url, logo_alt, website, postal_address, contact_email, phone, about_title, "
        "boilerplate, social.",
    )
    brand: BrandSettings = Field(default_factory=BrandSettings)  # type: ignore[arg-type]
    sender: SenderSettings = Field(default_factory=SenderSettings)  # type: ignore[arg-type]
    fetch: FetchSettings = Field(default_factory=FetchSettings)  # type: ignore[arg-type]
    sendgrid: SendGridSettings = Field(default_factory=SendGridSettings)  # type: ignore[arg-type]
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)  # type: ignore[arg-type]
    web: WebSettings = Field(default_factory=WebSettings)  # type: ignore[arg-type]
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)  # type: ignore[arg-type]
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)  # type: ignore[arg-type]
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)  # type: ignore[arg-type]
    typography: TypographySettings = Field(
        default_factory=TypographySettings  # type: ignore[arg-type]
    )
    studio: StudioSettings = Field(default_factory=StudioSettings)  # type: ignore[arg-type]
    press: PressSettings = Field(default_factory=PressSettings)  # type: ignore[arg-type]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as America/Toronto"
            ) from err
        return value

    @field_validator("identities")
    @classmethod
    def _identity_keys(cls, value: dict[str, IdentitySettings]) -> dict[str, IdentitySettings]:
        for key in value:
            if not _IDENTITY_KEY.fullmatch(key):
                raise ValueError(f"{key!r}: name an identity with lowercase letters, digits and -")
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("fr", "en"):
            raise ValueError(f"{value!r} is not a language of this product: fr or en")
        return value


@dataclass(frozen=True)
class SettingInfo:
    """One declared setting: its dotted key, environment variable, default and help."""

    key: str
    env: str
    default: Any
    help: str


def declared_settings() -> Iterator[SettingInfo]:
    """Every setting, in declaration order."""
    yield from _walk(Settings, ())


def _walk(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[SettingInfo]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            yield from _walk(annotation, (*prefix, name))
            continue
        path = (*prefix, name)
        default = field.get_default(call_default_factory=True)
        yield SettingInfo(
            key=".".join(path),
            env=ENV_PREFIX + "_".join(path).upper(),
            default=default,
            help=field.description or "",
        )


@dataclass(frozen=True)
class Workspace:
    """A workspace directory and the settings read for it."""

    root: Path
    settings: Settings

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def subscribers_dir(self) -> Path:
        return self.root / "subscribers"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"


def find_workspace(explicit: Path | None = None, *, cwd: Path | None = None) -> Path:
    """The workspace root: ``explicit``, else ``NEWSLETTER_HOME``, else upward from ``cwd``."""
    if explicit is not None:
        root = explicit
    elif os.environ.get(ENV_PREFIX + "HOME"):
        root = Path(os.environ[ENV_PREFIX + "HOME"])
    else:
        start = (cwd or Path.cwd()).resolve()
        for candidate in (start, *start.parents):
            if (candidate / CONFIG_FILE).is_file():
                return candidate
        raise ConfigurationError(
            f"no {CONFIG_FILE} in {start} or above: run the command inside a workspace, "
            "pass --workspace DIR, set NEWSLETTER_HOME, or create one with `newsletter init DIR`"
        )
    if not root.is_dir():
        raise ConfigurationError(f"workspace {root} is not a directory")
    return root.resolve()


def load_workspace(
    explicit: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Workspace:
    root = find_workspace(explicit)
    return Workspace(root=root, settings=load_settings(root / CONFIG_FILE, environ=environ))


def load_settings(path: Path | None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (when it exists) overlaid with the environment."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None and path.is_file():
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigurationError(f"{path}: not valid TOML: {err}") from err
    for info in declared_settings():
        raw = env.get(info.env)
        if raw is None:
            continue
        value: Any = raw
        if isinstance(info.default, dict):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ConfigurationError(f"{info.env}: expected a JSON object: {err}") from err
        _set_path(data, info.key.split("."), value)
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        # A table of tables (identities) has one variable for all of it.
        env_name = next(
            (info.env for info in declared_settings() if f"{key}.".startswith(f"{info.key}.")),
            ENV_PREFIX + key.replace(".", "_").upper(),
        )
        raise ConfigurationError(
            f"{source}: setting {key} ({env_name}): {first['msg']}"
            + (f" ({len(err.errors()) - 1} more)" if len(err.errors()) > 1 else "")
        ) from err


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigurationError(f"setting {'.'.join(path)}: {part} must be a table")
        node = child
    node[path[-1]] = value
