"""Bad input on the dossier page (issue #3, "Bad input"): a second acceptance and an action the
dossier's state does not allow each get their Vietnamese message and change nothing."""

from __future__ import annotations

import pytest

from chinhquyenso.dossiers.models import Dossier
from tests.conftest import sign_in
from tests.dossiers.conftest import snapshot

pytestmark = pytest.mark.django_db


def act(client, d: Dossier, action: str, **fields):
    data = {f"{action}-expected_revision": d.revision}
    data.update({f"{action}-{k}": v for k, v in fields.items()})
    return client.post(f"/ho-so/{d.code}/thao-tac/{action}/", data)


def test_a_second_acceptance_on_the_page_is_refused_and_changes_nothing(
    client, submitted, desk_officer
):
    sign_in(client, desk_officer)
    assert act(client, submitted, "accept").status_code == 302
    submitted.refresh_from_db()
    before = snapshot(submitted)
    response = act(client, submitted, "accept")  # the current revision: not a stale page
    assert response.status_code == 400
    assert (
        "Không thể tiếp nhận hồ sơ khi hồ sơ đang ở trạng thái “Được tiếp nhận”."
        in response.content.decode()
    )
    assert snapshot(submitted) == before


def test_an_action_the_state_does_not_allow_is_refused_and_changes_nothing(
    client, received, desk_officer
):
    sign_in(client, desk_officer)
    before = snapshot(received)
    response = act(client, received, "return_result", method="desk", recipient="Đặng Thị Hoa")
    assert response.status_code == 400
    assert "Không thể trả kết quả khi hồ sơ đang ở trạng thái “Được tiếp nhận”." in (
        response.content.decode()
    )
    assert snapshot(received) == before
