"""Sources captured with an issue revision: what each feed, page and attachment gave when the
revision was saved, so that any machine renders and sends the revision without reading a disk
or the network again.

`Recorder` wraps a reader (normally `fetch`) and keeps each answer; `Replay` answers from a
capture and refuses any source the revision did not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from newsletter.config import FetchSettings
from newsletter.content.fetch import Fetched, Reader, fetch
from newsletter.errors import SourceError


class Recorder:
    """A reader that reads through another one and keeps what each source gave."""

    def __init__(self, reader: Reader = fetch, *, max_total_bytes: int) -> None:
        self.reader = reader
        self.max_total_bytes = max_total_bytes
        self.captured: dict[str, Fetched] = {}

    def __call__(self, source: str, *, base_dir: Path | None, settings: FetchSettings) -> Fetched:
        if source in self.captured:
            return self.captured[source]
        fetched = self.reader(source, base_dir=base_dir, settings=settings)
        total = sum(len(f.content) for f in self.captured.values()) + len(fetched.content)
        if total > self.max_total_bytes:
            raise SourceError(
                source,
                f"the issue's sources weigh more than {self.max_total_bytes // 1_000_000} MB in "
                "all, the most one revision may store: use fewer or smaller files",
            )
        self.captured[source] = fetched
        return fetched


class Replay:
    """A reader that answers from a capture: no disk, no network."""

    def __init__(self, captured: Mapping[str, Fetched]) -> None:
        self.captured = captured

    def __call__(self, source: str, *, base_dir: Path | None, settings: FetchSettings) -> Fetched:
        try:
            fetched = self.captured[source]
        except KeyError:
            raise SourceError(
                source, "this revision was saved without it: save the issue again to read it"
            ) from None
        if len(fetched.content) > settings.max_bytes:
            raise SourceError(source, f"larger than {settings.max_bytes} bytes")
        return fetched
