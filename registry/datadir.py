"""The data directory belongs to the registry's own user: the directory 0700, every file
in it 0600.

It holds the SQLite database with complaint texts and sealed contacts, its WAL and
shared-memory files, and the federation and PII keys. Modes are set explicitly instead
of trusting the umask of whoever started the process, and the files of an older install
(created 0644) are tightened at the next start.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
"""What the `registry` command runs under, so any file it writes is private too."""


def private_dir(path: Path) -> Path:
    """Create `path` (and its missing parents) if needed; either way it ends up 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create `path` empty if it is missing; either way it ends up 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)


def tighten(path: Path) -> None:
    """Make an existing file 0600; a missing one is left missing."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, PRIVATE_FILE_MODE)
