from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import Browser


def _add_client(alice: Browser, **fields: str) -> object:
    values = {"display_name": "J. D.", "external_id": "", "date_of_birth": "", **fields}
    return alice.submit("/clients", values, page="/clients/new")


def test_a_clinician_adds_and_lists_a_client(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    response = _add_client(alice, external_id="MRN-42", date_of_birth="1979-11-02")
    assert response.status_code == 303
    detail = alice.get(response.headers["location"])
    assert (
        "Client added." in detail.text and "MRN-42" in detail.text and "1979-11-02" in detail.text
    )
    assert "J. D." in alice.get("/clients").text


def test_another_clinician_gets_404_not_403(signed_in: Callable[[str], Browser]) -> None:
    location = _add_client(signed_in("alice")).headers["location"].split("?")[0]
    bob = signed_in("bob")
    assert bob.get(location).status_code == 404
    assert bob.get("/clients/" + "0" * 32).status_code == 404
    assert "J. D." not in bob.get("/clients").text


def test_a_supervisor_sees_a_supervisees_client_read_only(
    signed_in: Callable[[str], Browser],
) -> None:
    location = _add_client(signed_in("alice")).headers["location"].split("?")[0]
    carol = signed_in("carol")
    listing = carol.get("/clients").text
    assert "J. D." in listing and "Add client" not in listing
    assert "Read-only: client of alice" in carol.get(location).text


def test_bad_input_comes_back_with_the_form_filled_in(signed_in: Callable[[str], Browser]) -> None:
    response = _add_client(
        signed_in("alice"), display_name="Pat Q", external_id="R-9", date_of_birth="31/12/1980"
    )
    assert response.status_code == 400
    assert "Date of birth: use the form YYYY-MM-DD." in response.text
    assert 'value="Pat Q"' in response.text and 'value="R-9"' in response.text


def test_client_urls_do_not_reveal_counts(signed_in: Callable[[str], Browser]) -> None:
    location = _add_client(signed_in("alice")).headers["location"]
    assert re.fullmatch(r"/clients/[0-9a-f]{32}\?done=client_created", location)
