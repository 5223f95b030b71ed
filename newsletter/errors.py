"""The product's exceptions: one root for what a user can get wrong, configuration kept apart.

    NewsletterError                 anything a user's input or a provider can cause
    ├── ContentError                issue files and their sources
    │   ├── IssueFileError          an issue file that does not validate (file, field, line)
    │   └── SourceError             a feed, page or URL that cannot be read (names the URL)
    ├── RenderError                 templates and the render pipeline
    │   └── TemplateError           Jinja or MJML error (template, line[:column])
    ├── AudienceError               subscribers, lists, segments, consent
    │   ├── CsvImportError          a subscriber file that cannot be imported (file, line)
    │   │   └── InvalidRowsError    rows that do not validate, each with its line
    │   ├── SuppressedError         an address on the suppression list
    │   └── TokenError              a signed token that is forged, expired or for another purpose
    ├── StoreError                  the database
    │   └── SchemaError             a schema this version does not know, or one to upgrade
    ├── DeliveryError               transports and the send ledger
    ├── ScheduleError               a time, schedule or embargo that forbids scheduling
    ├── TrackingError               provider events and our own tracking
        └── WebhookError            a webhook request refused; nothing from it may be stored
            ├── WebhookSignatureError   signature missing, not base64, or not ours
            ├── WebhookTimestampError   timestamp missing, malformed, too old or in the future
            └── WebhookBodyError        not JSON, not an array, an event that is not an object
                └── WebhookTooLargeError    a body over the configured cap
    └── ServiceError                an action refused by the application layer (services/)
        ├── NotFound                what the action names does not exist
        ├── Conflict                the object's state forbids it (already sent, not pending)
        ├── Invalid                 a value the action cannot take (``field`` names it)
        └── Forbidden               the actor's role or relation to the object forbids it

    ConfigurationError              a setting that is missing or wrong; deliberately outside the
                                    root so that no "skip what failed" handler can swallow it

Each message says what was wrong, where, and what to do, in the product's words (never a command
line flag or an HTTP status), on one line of at most `MAX_MESSAGE` characters: the CLI prints it
and exits with status 2, the web app turns the service errors into 404, 409, 400 and 403.
"""

from __future__ import annotations

#: The longest message an error shows. Messages quote what a person wrote; a value of megabytes
#: (a YAML alias bomb, a huge CSV cell) must not become a line of megabytes on a terminal.
MAX_MESSAGE = 1_000


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        text = " ".join(text.split("\n")).replace("\r", " ")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


class NewsletterError(Exception):
    """Root of the errors a user can cause or fix."""

    def __str__(self) -> str:
        return _one_line(super().__str__())


class ConfigurationError(Exception):
    """A setting is missing or has a value the product cannot use."""

    def __str__(self) -> str:
        return _one_line(super().__str__())


class ContentError(NewsletterError):
    """An issue file or one of its sources is wrong."""


class IssueFileError(ContentError):
    """An issue file does not validate.

    ``path`` is the file, ``field`` the dotted field path (``featured.0.url``) and ``line`` the
    1-based line in the file where it could be found.
    """

    def __init__(
        self, path: str, message: str, *, field: str | None = None, line: int | None = None
    ) -> None:
        self.path = path
        self.field = field
        self.line = line
        self.detail = message
        where = path if line is None else f"{path}:{line}"
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class SourceError(ContentError):
    """A feed, page or file that an issue points at cannot be read or parsed."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class RenderError(NewsletterError):
    """The render pipeline failed."""


class TemplateError(RenderError):
    """A template failed to render or compile: names the template and the line (and column)."""

    def __init__(
        self, template: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.template = template
        self.line = line
        self.column = column
        where = template
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class AudienceError(NewsletterError):
    """Subscribers, lists, segments or consent."""


class CsvImportError(AudienceError):
    """A subscriber file that cannot be imported; nothing from it was written."""

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {message}")


class InvalidRowsError(CsvImportError):
    """Rows of a subscriber file do not validate; ``problems`` lists each with its line.

    ``problems`` holds ``(line, value, detail)`` tuples in file order.
    """

    def __init__(self, path: str, problems: list[tuple[int, str, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"line {line}: {detail}" for line, _, detail in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            path,
            f"{len(problems)} invalid row(s), nothing was imported: {shown}{more}",
            line=problems[0][0] if problems else None,
        )


class SuppressedError(AudienceError):
    """The address is suppressed and may not be mailed or subscribed."""


class TokenError(AudienceError):
    """A signed token is malformed, forged, expired or meant for another purpose."""


class StoreError(NewsletterError):
    """The database cannot be used as asked."""


class SchemaError(StoreError):
    """The database schema is older or newer than this version of the product knows."""


class DeliveryError(NewsletterError):
    """A transport or the send ledger failed."""


class ScheduleError(NewsletterError):
    """A time that cannot be read or is past, a schedule that cannot change, an embargo."""


class TrackingError(NewsletterError):
    """Provider events or our own open and click tracking."""


class WebhookError(TrackingError):
    """A webhook request that must be refused as a whole: nothing from it may be stored."""


class WebhookSignatureError(WebhookError):
    """The signature is missing, is not base64, or does not match the body and timestamp."""


class WebhookTimestampError(WebhookError):
    """The signed timestamp is missing, malformed, or outside the tolerance (stale or future)."""


class WebhookBodyError(WebhookError):
    """The body is not a JSON array of event objects."""


class WebhookTooLargeError(WebhookBodyError):
    """The body is larger than the configured cap."""


class ServiceError(NewsletterError):
    """An action the application layer refused; the subclasses say why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class NotFound(ServiceError):
    """The issue, send, schedule, list, ... that the action names does not exist."""


class Conflict(ServiceError):
    """The object's state forbids the action (already sent, already approved, not pending)."""


class Invalid(ServiceError):
    """A value the action cannot take; ``field`` names it in the product's words."""


class Forbidden(ServiceError):
    """The actor may not do this: their role, or their relation to the object (an author
    approving their own communiqué)."""
