"""Staff see incidents in the admin, read-only."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.checks import Check, Finding
from alerts.services import alerts_check

pytestmark = pytest.mark.django_db


def test_staff_see_the_incidents_in_a_read_only_admin_list(admin_client: Any, mailoutbox: Any) -> None:
    down = Check(
        name="thing",
        prefix="thing:",
        find=lambda now: [Finding(key="thing:down", title="The thing is down", details={"why": "<b>x</b>"})],
    )
    alerts_check([down])

    listing = admin_client.get("/admin/alerts/incident/")
    assert listing.status_code == 200
    assert b"thing:down" in listing.content and b"The thing is down" in listing.content
    assert admin_client.get("/admin/alerts/incident/add/").status_code == 403

    incident_id = listing.context["cl"].result_list[0].pk
    page = admin_client.get(f"/admin/alerts/incident/{incident_id}/change/")
    assert page.status_code == 200 and b"<b>x</b>" not in page.content  # shown, escaped, not editable
    assert b'name="_save"' not in page.content
    assert (
        admin_client.post(f"/admin/alerts/incident/{incident_id}/delete/", {"post": "yes"}).status_code == 403
    )
