from __future__ import annotations

from collections.abc import Callable

from appliance.identity.setup_links import issue_first_admin_link
from appliance.runtime import Appliance
from tests.conftest import Browser, Clock

PASSWORD = "amber-kettle-orbit-2931"


def _link(appliance: Appliance) -> str:
    with appliance.unit_of_work() as db:
        token = issue_first_admin_link(db, appliance.settings)
    assert token
    return f"/setup/{token}"


def test_the_first_admin_is_created_from_the_one_time_link(
    appliance: Appliance, browser: Callable[[], Browser]
) -> None:
    link = _link(appliance)
    b = browser()
    assert "Create the first administrator" in b.get(link).text
    response = b.submit(
        link, {"username": "root", "password": PASSWORD, "password_again": PASSWORD}, page=link
    )
    assert response.headers["location"] == "/login?done=setup_done"
    assert b.sign_in("root", PASSWORD).headers["location"] == "/"
    assert b.get("/admin/users").status_code == 200
    assert browser().get(link).status_code == 404


def test_a_mismatched_or_weak_password_keeps_the_link_alive(
    appliance: Appliance, browser: Callable[[], Browser]
) -> None:
    link = _link(appliance)
    b = browser()
    mismatch = b.submit(
        link, {"username": "root", "password": PASSWORD, "password_again": "x"}, page=link
    )
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    assert 'value="root"' in mismatch.text
    weak = b.submit(
        link,
        {"username": "root", "password": "password1234", "password_again": "password1234"},
        page=link,
    )
    assert weak.status_code == 400 and "cannot be used" in weak.text
    assert b.get(link).status_code == 200


def test_an_expired_link_explains_itself(
    appliance: Appliance, browser: Callable[[], Browser], frozen_clock: Clock
) -> None:
    link = _link(appliance)
    frozen_clock.advance(hours=25)
    response = browser().get(link)
    assert response.status_code == 404 and "expired" in response.text
