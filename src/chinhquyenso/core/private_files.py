"""Files only their owner may read (keys, passwords, the machine's SECRET_KEY), owner-only from
the moment they are created: never write-then-chmod, which leaves a moment when the file has the
umask's mode (often world-readable). Standard library only: settings.py imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Write (or overwrite) `path` with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    os.fchmod(fd, PRIVATE_MODE)  # a file that already existed keeps its mode through O_TRUNC
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def create_private(path: Path, data: bytes) -> bool:
    """Create `path` with mode 0600 unless it exists; True when this call created it.

    Exclusive creation: of processes starting together (web workers, the task worker), one
    writes the file and the others read it, rather than each writing its own. The data is
    written to a private temporary file first and linked into place, so a reader never sees it
    half written.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write_private(tmp, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True
