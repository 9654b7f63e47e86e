"""What the application holds for every request: the running appliance."""

from __future__ import annotations

from starlette.requests import Request

from appliance.runtime import Appliance


def appliance_of(request: Request) -> Appliance:
    appliance: Appliance = request.app.state.appliance
    return appliance
