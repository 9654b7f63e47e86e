from __future__ import annotations

import pytest

from appliance.identity.accounts import create_user, find_user
from appliance.identity.setup_links import (
    SetupLinkInvalid,
    issue_first_admin_link,
    issue_user_setup_link,
    open_link,
    redeem_link,
)
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import Clock, People

NEW_PASSWORD = "amber-kettle-orbit-2931"


def _first_admin_token(appliance: Appliance) -> str:
    with appliance.unit_of_work() as db:
        token = issue_first_admin_link(db, appliance.settings)
    assert token is not None
    return token


def test_the_first_admin_link_creates_an_admin_once(appliance: Appliance) -> None:
    token = _first_admin_token(appliance)
    with appliance.unit_of_work() as db:
        user = redeem_link(db, token, username="Root.Admin", password=NEW_PASSWORD)
    assert (user.username, user.role) == ("root.admin", "admin")
    with appliance.unit_of_work() as db, pytest.raises(SetupLinkInvalid):
        redeem_link(db, token, username="second", password=NEW_PASSWORD)


def test_the_first_admin_link_expires_after_24_hours(
    appliance: Appliance, frozen_clock: Clock
) -> None:
    token = _first_admin_token(appliance)
    frozen_clock.advance(hours=24, seconds=1)
    with appliance.unit_of_work() as db, pytest.raises(SetupLinkInvalid):
        open_link(db, token)


def test_no_first_admin_link_once_an_admin_exists(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        assert issue_first_admin_link(db, appliance.settings) is None


def test_a_newer_link_retires_the_older_one(appliance: Appliance) -> None:
    old = _first_admin_token(appliance)
    new = _first_admin_token(appliance)
    with appliance.unit_of_work() as db:
        with pytest.raises(SetupLinkInvalid):
            open_link(db, old)
        assert open_link(db, new).user is None


def test_a_user_setup_link_sets_that_persons_password(appliance: Appliance) -> None:
    with appliance.unit_of_work() as db:
        user = create_user(db, "frank", Role.CLINICIAN, by=None)
        token = issue_user_setup_link(db, appliance.settings, user, by=None)
    with appliance.unit_of_work() as db:
        redeem_link(db, token, password=NEW_PASSWORD, username="ignored")
        frank = find_user(db, "frank")
        assert frank is not None and frank.password_hash is not None
        assert find_user(db, "ignored") is None


def test_a_weak_password_leaves_the_link_usable(appliance: Appliance) -> None:
    token = _first_admin_token(appliance)
    with appliance.unit_of_work() as db, pytest.raises(Exception, match="common"):
        redeem_link(db, token, username="root", password="password1234")
    with appliance.unit_of_work() as db:
        assert redeem_link(db, token, username="root", password=NEW_PASSWORD).role == "admin"
