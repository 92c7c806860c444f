"""Key, password and secret-key files are readable by their owner only from the moment they
exist, and processes starting together share one SECRET_KEY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chinhquyenso.core.private_files import create_private, write_private


@pytest.fixture
def open_umask():
    """The most permissive umask: whatever mode a file gets is the code's doing."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_write_private_is_owner_only_and_overwrites(tmp_path, open_umask):
    path = tmp_path / "key.pem"
    write_private(path, b"first")
    assert (mode(path), path.read_bytes()) == (0o600, b"first")

    path.write_bytes(b"old")
    path.chmod(0o644)  # a key file left readable by an earlier version
    write_private(path, b"second")
    assert (mode(path), path.read_bytes()) == (0o600, b"second")


def test_create_private_never_overwrites(tmp_path, open_umask):
    path = tmp_path / "secret_key"
    assert create_private(path, b"winner") is True
    assert create_private(path, b"loser") is False
    assert (mode(path), path.read_bytes()) == (0o600, b"winner")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary left


READ_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def test_processes_starting_together_share_one_private_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    env |= {"CQS_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "chinhquyenso.settings"}
    starts = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", READ_KEY],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            umask=0o022,
        )
        for _ in range(4)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in starts}
    assert all(p.returncode == 0 for p in starts)
    stored = tmp_path / "secret_key"
    assert keys == {stored.read_text().strip()}
    assert len(stored.read_text().strip()) >= 64
    assert mode(stored) == 0o600
    assert not list(tmp_path.glob(".secret_key.*"))  # no temporary left
