"""The measures chart in a real browser (Debian's Chromium via Playwright) against `appliance
serve`: six sessions built through the service functions, then alice opens the client's page.

What only a browser can show: that app.css, the only styling the CSP allows, really draws the
chart (a signed point filled with its series' colour, a draft's hollow), at a readable size,
with no CSP violation. The screenshot goes to the test's folder and, when SCREENSHOT_DIR is
set (as for tests/webui/test_review_journey.py), there too, for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.identity import accounts
from appliance.runtime import Appliance
from tests.appliance.notes.measured_sessions import PLOTTED, PLOTTED_SIGNED, six_sessions
from tests.conftest import PASSWORD, POSTGRES_URL, People
from tests.served_app import Served, serve_appliance
from tests.tools import require_tool
from tests.webui.test_in_browser import CHROMIUM_FLAGS

WHITE = (255, 255, 255)


@pytest.fixture
def served_client(
    appliance: Appliance, people: People, tmp_path: Path
) -> Iterator[tuple[Served, str]]:
    """`appliance serve` on the data the service functions just wrote (tmp_path/data)."""
    measured = six_sessions(appliance, accounts.actor_for(people.alice))
    settings = {"workers": "0"}
    if POSTGRES_URL:
        settings["database_url"] = POSTGRES_URL
    else:
        appliance.engine.dispose()  # the served process owns the SQLite file from here
    with serve_appliance(tmp_path, init=False, **settings) as served:
        yield served, measured.client_id


def test_the_chart_is_drawn_by_the_stylesheet_alone_in_chromium(
    served_client: tuple[Served, str], tmp_path: Path
) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    chromium = require_tool("chromium", "the chart is checked in it", also=("chromium-browser",))
    served, client_id = served_client
    shot = tmp_path / "measures-chart.png"
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("console", lambda message: console.append(message.text))
        page.goto(served.base + "/login")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{served.base}/clients/{client_id}")

        chart = page.locator("#measures svg[role=img]")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 400, box
        assert chart.locator("circle").count() == PLOTTED
        assert chart.locator("circle.signed").count() == PLOTTED_SIGNED
        assert page.locator("table.measures tbody tr").count() == 6
        # The centre of every point as the screen has it, relative to the chart's box.
        centres = [
            (
                circle.get_attribute("class") or "",
                (b["x"] + b["width"] / 2 - box["x"], b["y"] + b["height"] / 2 - box["y"]),
            )
            for circle in chart.locator("circle").all()
            if (b := circle.bounding_box()) is not None
        ]
        page.locator("#measures").screenshot(path=str(shot))
        chart.screenshot(path=str(tmp_path / "chart-only.png"))
        browser.close()

    assert [m for m in console if "Content Security Policy" in m] == []
    with Image.open(tmp_path / "chart-only.png") as image:
        pixels = image.convert("RGB")
        scale = pixels.width / box["width"]
        filled = [
            pixels.getpixel((round(x * scale), round(y * scale))) for classes, (x, y) in centres
        ]
    signed = [rgb for (classes, _), rgb in zip(centres, filled, strict=True) if "signed" in classes]
    drafts = [rgb for (classes, _), rgb in zip(centres, filled, strict=True) if "draft" in classes]
    # A signed point is filled with its series' colour, a draft's centre is the card's white:
    # only app.css can make them differ, so this fails if the stylesheet did not apply.
    assert len(signed) == PLOTTED_SIGNED and all(_coloured(rgb) for rgb in signed), signed
    assert len(drafts) == PLOTTED - PLOTTED_SIGNED and all(rgb == WHITE for rgb in drafts), drafts
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


def _coloured(rgb: object) -> bool:
    assert isinstance(rgb, tuple)
    red, green, blue = rgb[:3]
    return max(red, green, blue) - min(red, green, blue) > 40 and min(red, green, blue) < 200
