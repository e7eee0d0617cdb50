"""Debian's Chromium, driven by Playwright, for the browser tests.

Playwright's own browser builds cannot be downloaded here, so the tests launch the machine's
Chromium (`make browser` installs it). Without it they are skipped locally and fail under
`CI=true`. The browser may reach loopback only: any other request is aborted and reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@dataclass
class Chromium:
    context: BrowserContext
    outside_requests: list[str] = field(default_factory=list)  # each one aborted


@contextmanager
def chromium(profile: Path) -> Iterator[Chromium]:
    """Chromium with a fresh profile in `profile`, which reaches loopback and nothing else.

    Open it after the test's database is ready: Playwright's sync API runs an event loop in
    this thread while it is open, and the database fixtures start one of their own."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"Chromium is required in CI and missing at {CHROMIUM}: run `make browser`")
        pytest.skip(f"no Chromium at {CHROMIUM} (`make browser` installs it)")

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        browser = Chromium(context)

        def loopback_only(route: Route) -> None:
            url = route.request.url
            if url.startswith("data:") or urlsplit(url).hostname in LOOPBACK_HOSTS:
                route.continue_()
            else:
                browser.outside_requests.append(url)
                route.abort()

        context.route("**/*", loopback_only)
        try:
            yield browser
        finally:
            context.close()
