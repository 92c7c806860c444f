"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

No browser is downloaded: the system's /usr/bin/chromium is launched (installed by
`make install-dev`, package `chromium`). Static files are served unhashed by the live server
(tests/conftest.py selects the plain storage). Screenshots go to $E2E_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def _clean_slate_for_serialized_rollback(django_db_setup, django_db_blocker):
    """These tests restore the migrated data (administrative units, the audit chain head,
    default office hours) with `serialized_rollback`. A transactional test that ran earlier
    without it leaves a flushed database in which post_migrate re-created content types under
    new ids, and restoring the snapshot on top of those fails. Start from an empty database
    instead; the snapshot then goes back in whole."""
    from django.core.management import call_command

    from chinhquyenso.core.models import AdministrativeUnit

    with django_db_blocker.unblock():
        if not AdministrativeUnit.objects.exists():
            call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)


@pytest.fixture(scope="session")
def browser(django_db_setup):
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        # A missing browser is a broken machine, not a reason to pass: `make test` installs it.
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    saved = {
        alias: getattr(connections[alias], "_test_serialized_contents", None)
        for alias in connections
    }
    with sync_playwright() as p:
        # From here on the test code runs in Playwright's greenlet, with its own context
        # variables, so Django's (context-local) connection handler hands out new connection
        # objects. Those lack the database snapshot that `serialized_rollback` restores after
        # each flush; carry it over.
        for alias, contents in saved.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, name): a full-page PNG in $E2E_SCREENSHOTS, when set."""
    folder = os.environ.get("E2E_SCREENSHOTS")

    def take(page, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take
