"""axe-core (npm, tests/fidelity/js) injected into a page under test: the WCAG 2 A and AA rules
must find nothing in each state a test reaches; a screenshot of the state is kept for a human."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[1] / "fidelity" / "js" / "node_modules" / "axe-core"
ARTIFACTS = Path(__file__).with_name("artifacts")


def check_accessible(page: Page, name: str) -> None:
    """No axe-core violation in the page as it is now; its screenshot saved as ``name``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE / "axe.min.js"))
    violations = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa']}))
            .violations.map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"""
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert violations == [], name
