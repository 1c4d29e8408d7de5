"""The documentation site renders in a real browser: the Debian chromium, driven by Playwright (no
browser download), as a reader meets it: served over HTTP (as a published site is; the test serves
the built folder on 127.0.0.1 and refuses every other address, so nothing may come from the
internet), and opened from disk, where its links must work without a server. Screenshots of the
home page and the tutorial go to ``$ARENA_DOCS_SCREENSHOTS`` when set (else the test's temp
folder). Skipped, with the reason, where chromium, Playwright or mkdocs is missing."""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser import chromium  # skips the module where Playwright or chromium is missing


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def served(site) -> Iterator[str]:
    """The built site on an ephemeral 127.0.0.1 port; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A page that records console errors, uncaught exceptions and every request that was not for
    127.0.0.1 or a file (each refused)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []

    def only_local(route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "file://", "data:")):
            route.continue_()
        else:
            page.problems.append(f"reached for {url}")
            route.abort()

    context.route("**/*", only_local)
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(msg.text))
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    yield page
    context.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("ARENA_DOCS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sidebar_width(page) -> float:
    """The navigation sidebar's rendered width: about 300 px when the theme's CSS applied."""
    return float(page.locator(".wy-nav-side").evaluate("e => e.getBoundingClientRect().width"))


def test_the_served_site_renders_styled_navigates_and_searches(page, served, shots):
    page.goto(f"{served}/index.html")
    assert page.title().startswith("pytest-arena")
    assert 200 < sidebar_width(page) < 400
    nav = page.locator(".wy-menu-vertical")
    for entry in ("Tutorial", "How-to guides", "Reference", "Add an agent", "Command line"):
        assert nav.get_by_text(entry, exact=True).first.is_visible(), entry
    page.screenshot(path=str(shots / "docs-home.png"))

    nav.get_by_text("Tutorial", exact=True).first.click()
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text().startswith("Tutorial: your first sweep")
    assert page.get_by_text("pytest --arena-config configs/smoke.yaml --arena-failures-ok").first.is_visible()
    page.screenshot(path=str(shots / "docs-tutorial.png"))

    page.locator("a", has_text="Result rows").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/reference/rows.html")
    assert page.locator("td code", has_text="measured_sha").first.is_visible()

    page.locator("input[name=q]").first.fill("measured_sha")
    page.keyboard.press("Enter")
    results = page.locator("#mkdocs-search-results a")
    results.first.wait_for(timeout=15_000)
    assert any("rows.html" in (results.nth(i).get_attribute("href") or "") for i in range(results.count()))
    assert page.problems == []
    for name in ("docs-home.png", "docs-tutorial.png"):
        assert (shots / name).stat().st_size > 20_000  # a rendered page, not a blank one


def test_the_site_opened_from_disk_links_page_to_page(page, site):
    page.goto((site / "index.html").as_uri())
    assert 200 < sidebar_width(page) < 400  # the theme's files load from disk
    page.locator(".wy-menu-vertical").get_by_text("Command line", exact=True).first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/reference/cli.html")
    assert page.locator("h1").first.inner_text().startswith("Command-line reference")
    # from file:// a browser refuses the search's web worker; everything else must load
    assert [p for p in page.problems if "search/worker.js" not in p] == []
