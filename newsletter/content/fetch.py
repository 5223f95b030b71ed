"""Reading a source (http(s) URL, file:// URL or file path) into bytes, with limits.

Every failure becomes a `SourceError` naming the source as the issue file wrote it, so the
person who wrote it knows which line to fix. Limits come from `FetchSettings`: a timeout over
the whole download, a size cap enforced while the body streams in (and for files, while they
are read), and a redirect count. Files are read only from inside the issue's workspace, and
never from its var/ folder, its settings or hidden files.
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from newsletter.config import CONFIG_FILE, FetchSettings
from newsletter.errors import SourceError

_REDIRECTS = {301, 302, 303, 307, 308}
_USER_AGENT = "newsletter/0.1 (+https://www.example.org)"


@dataclass(frozen=True)
class Fetched:
    """What a source gave: its bytes, where they finally came from, and their declared type."""

    content: bytes
    location: str  # the final URL after redirects, or the absolute file path
    content_type: str | None  # media type without parameters, e.g. "application/rss+xml"
    charset: str | None = None

    @property
    def is_file(self) -> bool:
        return not self.location.startswith(("http://", "https://"))


class Reader(Protocol):
    """How a source is read: `fetch` itself, or a stand-in that records or replays what
    sources gave (an issue stored with its revision is read again without disk or network)."""

    def __call__(
        self, source: str, *, base_dir: Path | None, settings: FetchSettings
    ) -> Fetched: ...


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def fetch(source: str, *, base_dir: Path | None, settings: FetchSettings) -> Fetched:
    """Read `source`: an http(s) URL, a file:// URL, or a path (relative to `base_dir`).

    A file is read only from inside the workspace that holds `base_dir` (see `confined`).
    """
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_http(source, settings)
    if scheme == "file":
        path = Path(url2pathname(unquote(urlsplit(source).path)))
        return _read_file(source, confined(source, path, base_dir), settings)
    # One letter is a Windows drive ("C:\..."), not a scheme.
    if scheme and len(scheme) > 1:
        raise SourceError(
            source, f"unsupported scheme {scheme!r}: give an http(s) URL or a file path"
        )
    path = Path(source)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return _read_file(source, confined(source, path, base_dir), settings)


def confinement_root(base_dir: Path) -> Path:
    """Where files may be read from for an issue in `base_dir`: the workspace holding it (the
    nearest folder upward with a newsletter.toml), or `base_dir` itself outside any."""
    start = base_dir.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def confined(source: str, path: Path, base_dir: Path | None) -> Path:
    """`path` resolved (symbolic links followed), when it lies inside the confinement root and
    outside what the workspace keeps to itself (var/: the store and keys; newsletter.toml;
    hidden files); a SourceError saying so otherwise.

    An issue file names files on the machine that reads it: without this, `source: /etc/passwd`
    or `path: ../../.ssh/id_rsa` would be read, and an attachment mailed to a list.
    """
    if base_dir is None:
        raise SourceError(
            source, "files are read only for an issue file in a workspace: give an http(s) URL"
        )
    root = confinement_root(base_dir)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as err:  # a loop of symbolic links
        raise SourceError(source, f"cannot resolve {path}: {err}") from err
    if not resolved.is_relative_to(root):
        raise SourceError(
            source, f"outside the workspace ({root}): keep the files an issue reads inside it, "
            "e.g. in issues/pages, issues/feeds or issues/files",
        )  # fmt: skip
    inside = resolved.relative_to(root).parts
    if inside and (inside[0] == "var" or inside == (CONFIG_FILE,)
                   or any(part.startswith(".") for part in inside)):  # fmt: skip
        raise SourceError(
            source, "the workspace's var/ folder, newsletter.toml and hidden files hold the "
            "store, keys and settings: they are never an issue's source",
        )  # fmt: skip
    return resolved


def _read_file(source: str, path: Path, settings: FetchSettings) -> Fetched:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SourceError(source, f"{path} is not a file")
        if size > settings.max_bytes:
            raise SourceError(source, _too_big(settings.max_bytes))
        with path.open("rb") as handle:
            # Read one byte past the cap: the file may have grown since stat().
            content = handle.read(settings.max_bytes + 1)
    except FileNotFoundError as err:
        raise SourceError(source, f"no such file: {path}") from err
    except OSError as err:
        raise SourceError(source, f"cannot read {path}: {err.strerror or err}") from err
    if len(content) > settings.max_bytes:
        raise SourceError(source, _too_big(settings.max_bytes))
    content_type, _ = mimetypes.guess_type(path.name)
    return Fetched(content=content, location=str(path.resolve()), content_type=content_type)


def _fetch_http(source: str, settings: FetchSettings) -> Fetched:
    deadline = time.monotonic() + settings.timeout
    url = source
    seen = {url}
    redirects = 0
    try:
        with httpx.Client(
            follow_redirects=False,
            timeout=settings.timeout,
            headers={"User-Agent": _USER_AGENT},
        ) as client:
            while True:
                with client.stream("GET", url) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        target = urljoin(url, response.headers["location"])
                        redirects += 1
                        if target in seen:
                            raise SourceError(source, f"redirect loop at {target}")
                        if redirects > settings.max_redirects:
                            raise SourceError(
                                source,
                                f"too many redirects (more than {settings.max_redirects}),"
                                f" last to {target}",
                            )
                        if not is_url(target):
                            raise SourceError(source, f"redirected to a non-http(s) URL {target}")
                        seen.add(target)
                        url = target
                        continue
                    if response.status_code >= 400:
                        where = "" if url == source else f" (at {url})"
                        raise SourceError(
                            source,
                            f"HTTP {response.status_code} {response.reason_phrase}{where}",
                        )
                    content = _read_body(source, response, settings, deadline)
                    content_type = response.headers.get("content-type")
                    return Fetched(
                        content=content,
                        location=str(response.url),
                        content_type=_media_type(content_type),
                        charset=response.charset_encoding,
                    )
    except httpx.TimeoutException as err:
        raise SourceError(source, f"timed out after {settings.timeout:g} s") from err
    except httpx.HTTPError as err:
        raise SourceError(source, f"cannot fetch: {err or type(err).__name__}") from err


def _read_body(
    source: str, response: httpx.Response, settings: FetchSettings, deadline: float
) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        raise SourceError(source, _too_big(settings.max_bytes))
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > settings.max_bytes:
            raise SourceError(source, _too_big(settings.max_bytes))
        # httpx's timeout is per read; a server trickling bytes must not hold us forever.
        if time.monotonic() > deadline:
            raise SourceError(source, f"timed out after {settings.timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def with_charset(content_type: str, data: bytes, declared: str | None = None) -> str:
    """``content_type`` with a charset when it is text/* and names none: ``declared`` (what a
    server said), else UTF-8 when ``data`` decodes as UTF-8, else Windows-1252. A text part
    without one is read as US-ASCII, which turns "é" into two strange characters."""
    if not content_type.lower().startswith("text/") or "charset=" in content_type.lower():
        return content_type
    charset = (declared or "").strip().lower()
    if not charset:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            charset = "windows-1252"
        else:
            charset = "utf-8"
    return f"{content_type}; charset={charset}"


def _media_type(header: str | None) -> str | None:
    if not header:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def _too_big(limit: int) -> str:
    return f"larger than the {limit:,}-byte limit (setting fetch.max_bytes)"
