"""Browser tests: Debian's chromium driven by Playwright against the live server, with a real RQ
worker process on the same test database and Redis, the local TEST MODE payment page, and the fake
OpenAI server.

One browser for the whole session, a fresh context per page a test opens. Without a chromium
(``CHROMIUM_PATH``, or ``chromium`` / ``chromium-browser`` on PATH) or without the ``playwright``
package, every browser test is skipped, saying so (fails instead when ``BROWSER_TESTS_REQUIRED``
is set, as ``.ci/run`` does). Screenshots and the accessibility summary go to
``$SCREENSHOT_DIR`` (default ``var/screenshots/``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.browser.support import DESKTOP, HEIGHT, A11yReport, Shots, Writer

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("article-generation", "backlink-integration", "maintenance")
_REPORT: dict[str, A11yReport] = {}


def chromium_path() -> str | None:
    """``CHROMIUM_PATH`` when set, else Debian's ``chromium`` (``apt-get install chromium``) on PATH."""
    explicit = os.environ.get("CHROMIUM_PATH")
    candidates = [explicit] if explicit else [shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def artefacts_dir() -> Path:
    return Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "var" / "screenshots")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session (Playwright's own browser download is not used)."""
    missing = pytest.fail if os.environ.get("BROWSER_TESTS_REQUIRED") else pytest.skip
    executable = chromium_path()
    if executable is None:
        missing("no chromium found (set CHROMIUM_PATH or `apt-get install chromium`); .ci/run installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[dev]')")
    # Playwright's sync API keeps an asyncio loop running on this thread while it is open, which
    # Django's ORM takes for an async context; every ORM call here is a plain synchronous one.
    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            yield chromium
            chromium.close()
    finally:
        if unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """The screenshot directory, emptied of an earlier run's pictures at the start of the session."""
    directory = artefacts_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for old in [*directory.glob("*.png"), *directory.glob("a11y.*"), *directory.glob("*.log")]:
        old.unlink()
    return directory


@pytest.fixture(scope="session")
def a11y(artefacts: Path) -> A11yReport:
    return _REPORT.setdefault("report", A11yReport(artefacts))


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """The browser tests run last: the browser (and the event loop Playwright keeps on the main
    thread while it is open) then never overlaps another test."""
    here = Path(__file__).parent
    items[:] = sorted(items, key=lambda item: here in Path(str(item.path)).parents)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report = _REPORT.get("report")
    if report and report.pages:
        terminalreporter.write_sep("-", f"accessibility (axe-core), saved in {report.directory}")
        for line in report.summary_lines():
            terminalreporter.write_line(line)


def _test_database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


@pytest.fixture
def writer(fake_openai: Any) -> Writer:
    """The fake model: good drafts, a different one each call, each after a short delay."""
    responder = Writer()
    fake_openai.default = responder
    return responder


@pytest.fixture
def site(live_server: Any, local_test_payments: Any, settings: Any) -> str:
    """The live server's URL; payments go through the local TEST MODE page.

    SITE_URL is the live server, so the TEST MODE page's webhook delivery reaches it.
    """
    settings.SITE_URL = live_server.url
    settings.ORDER_PAGE_SLOW_POLL_SECONDS = 1  # an editor's decision reaches the open page within a second
    return str(live_server.url)


@pytest.fixture
def worker(
    site: str, fake_openai: Any, writer: Writer, artefacts: Path, request: pytest.FixtureRequest
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``rqworker`` process (all queues, with its scheduler) running for the whole test on
    the test database and Redis, writing through the fake OpenAI server; its emails link to the
    live server. Its log: ``<artefacts>/worker-<test>.log``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "TEST_SITE_URL": site,
        "TEST_OPENAI_API_KEY": "sk-test-fake",
        "TEST_OPENAI_BASE_URL": f"{fake_openai.url}/v1",
        "TEST_STRIPE_SECRET_KEY": "",
        "TEST_STRIPE_API_BASE": "",
    }
    with (artefacts / f"worker-{request.node.name}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", *QUEUES, "--with-scheduler"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


@pytest.fixture
def new_page(browser: Any, site: str) -> Iterator[Callable[[], Any]]:
    """Opens a page in a fresh browser context (its own cookies), desktop-sized; all closed after the test."""
    contexts: list[Any] = []

    def _open() -> Any:
        context = browser.new_context(viewport={"width": DESKTOP, "height": HEIGHT}, base_url=site)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def shots(artefacts: Path) -> Callable[[str], Shots]:
    """``shots("flow")``: a flow's screenshots (tests/browser/support.py ``Shots``)."""
    return lambda flow: Shots(artefacts, flow)
