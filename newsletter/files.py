"""Writing files so that a reader never sees half of one: a temporary file, then a rename."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_writer(
    path: Path, *, binary: bool = False, encoding: str = "utf-8"
) -> Iterator[IO[Any]]:
    """A handle on a temporary file beside ``path``, renamed onto it when the block succeeds.

    On any error the temporary file is removed and ``path`` is left as it was. The file gets the
    usual permissions (0666 less the umask), unlike ``tempfile.mkstemp``'s 0600.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if binary:
            handle: IO[Any] = os.fdopen(descriptor, "wb")
        else:
            handle = os.fdopen(descriptor, "w", encoding=encoding, newline="")
        with handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes | str, *, encoding: str = "utf-8") -> None:
    """Write all of ``data`` to ``path`` or, on error, nothing."""
    with atomic_writer(path, binary=isinstance(data, bytes), encoding=encoding) as handle:
        handle.write(data)
