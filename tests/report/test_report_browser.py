"""report.html in a real browser, as a person uses it: the Debian chromium, driven by Playwright
(no browser download: Playwright is pointed at the system's executable), pages opened from
file:// with the network off. Skipped, with the reason, where either is missing."""

import pytest

from tests.browser import chromium  # skips the module where Playwright or chromium is missing

from .results_folder import PLAN

RUNS = sum(len(seeds) for *_, passes in PLAN for seeds in passes) + 1  # + the older run


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A page that records console errors and uncaught exceptions (a test fails on any)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda msg: msg.type in ("error", "warning") and page.problems.append(msg.text))
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    yield page
    context.close()


def visible_rows(page, table: str) -> int:
    return page.locator(f"#{table} tbody tr:visible").count()


def test_the_report_answers_filters_and_opens_a_cell(page, report_dir):
    page.goto((report_dir / "report.html").as_uri())
    decision = page.locator("#decision tbody tr")
    assert decision.count() == 2
    refactors = decision.filter(has_text="refactors")
    assert "not enough evidence: need about" in refactors.inner_text()
    assert "leading: always-cloud" in refactors.inner_text()
    assert page.get_by_text("configs/demo.yaml (sha abc, variant test)").is_visible()
    assert visible_rows(page, "runs") == RUNS and visible_rows(page, "cells") == 5

    page.get_by_label("agent").select_option("mini-swe-agent")
    assert visible_rows(page, "runs") == 6 and visible_rows(page, "cells") == 2
    page.get_by_label("strategy").select_option("cascade")
    assert visible_rows(page, "runs") == 3 and visible_rows(page, "cells") == 1
    page.get_by_label("outcome").select_option("fail")
    assert visible_rows(page, "runs") == 1 and visible_rows(page, "cells") == 1  # cells have no outcome
    assert page.locator('[data-count-for="runs"]').inner_text() == f"1 of {RUNS} shown"
    page.get_by_role("button", name="show all").click()
    assert visible_rows(page, "runs") == RUNS

    page.get_by_label("agent").select_option("aider")
    page.get_by_label("strategy").select_option("cascade")
    page.get_by_label("outcome").select_option("fail")
    link = page.locator("#runs tbody tr:visible a").first
    run_id = link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/report/cells/{run_id}.html")
    assert "outcome: fail" in page.locator("body").inner_text()
    assert page.get_by_role("heading", name="Diff").is_visible()
    assert page.locator("pre.diff .diff-add").first.is_visible()
    assert page.locator(".call.local .side").first.inner_text() == "LOCAL"
    assert page.locator(".call.cloud .side").first.inner_text() == "CLOUD"
    assert page.locator("li code", has_text="test_slug.py::test_spaces").is_visible()
    assert page.problems == []


def test_agent_markup_on_a_cell_page_is_text_and_runs_nothing(page, report_dir):
    page.goto((report_dir / "report/cells/demo-0005.html").as_uri())
    diff = page.locator("pre.diff").inner_text()
    assert "<script>window.__pwned = 1</script>" in diff  # shown as the characters the agent wrote
    assert "<script>window.__pwned = 1</script>" in page.locator(".call.cloud").first.inner_text()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script, img").count() == 0
    assert page.problems == []
