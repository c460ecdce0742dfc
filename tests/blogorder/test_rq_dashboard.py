"""The RQ dashboard (/admin/django_rq/…): only superusers and holders of django_rq.admin run the queues."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)  # RQ enqueues on commit

DASHBOARD = "/admin/django_rq/dashboard/"
QUEUE = 1  # backlink-integration: RQ_QUEUES sorted by name
JOB_ID = "backlink-00000000-0000-0000-0000-000000000001-run-1"


@pytest.fixture
def queued_job() -> Any:
    queue = django_rq.get_queue("backlink-integration")
    return queue.enqueue_call(
        "tests.queueing.jobs.remember", kwargs={"subject_id": "x", "run": 1}, job_id=JOB_ID
    )


def staff_client(*, superuser: bool = False, rq_permission: bool = False) -> Client:
    user = User.objects.create_user("editor", password="a long unguessable pass", is_staff=True)
    user.is_superuser = superuser
    user.save(update_fields=["is_superuser"])
    if rq_permission:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="django_rq", codename="admin")
        )
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        DASHBOARD,
        f"{DASHBOARD}queues/{QUEUE}/",
        f"{DASHBOARD}queues/{QUEUE}/{JOB_ID}/",
        f"{DASHBOARD}queues/{QUEUE}/empty/",
        f"{DASHBOARD}workers/{QUEUE}/",
    ],
)
def test_a_staff_user_without_permission_cannot_open_the_queues_or_see_job_ids(
    url: str, queued_job: Any
) -> None:
    response = staff_client().get(url)

    assert response.status_code == 403
    assert JOB_ID not in response.content.decode()


def test_a_staff_user_without_permission_cannot_delete_a_job(queued_job: Any) -> None:
    response = staff_client().post(f"{DASHBOARD}queues/{QUEUE}/{JOB_ID}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert django_rq.get_queue("backlink-integration").job_ids == [JOB_ID]


def test_a_staff_user_without_permission_cannot_empty_a_queue(queued_job: Any) -> None:
    response = staff_client().post(f"{DASHBOARD}queues/{QUEUE}/empty/")

    assert response.status_code == 403
    assert django_rq.get_queue("backlink-integration").job_ids == [JOB_ID]


def test_a_staff_user_without_permission_gets_no_stats_without_the_api_token(queued_job: Any) -> None:
    response = staff_client().get(f"{DASHBOARD}stats.json")

    assert response.status_code == 401


def test_the_admin_index_shows_no_queue_link_to_a_staff_user_without_permission() -> None:
    response = staff_client().get("/admin/")

    assert response.status_code == 200
    assert DASHBOARD not in response.content.decode()


@pytest.mark.parametrize("who", ["superuser", "rq_permission"])
def test_a_superuser_or_a_holder_of_the_rq_permission_runs_the_queues(who: str, queued_job: Any) -> None:
    client = staff_client(superuser=who == "superuser", rq_permission=who == "rq_permission")

    assert JOB_ID in client.get(f"{DASHBOARD}queues/{QUEUE}/").content.decode()
    assert client.get(f"{DASHBOARD}stats.json").status_code == 200
    response = client.post(f"{DASHBOARD}queues/{QUEUE}/empty/")

    assert response.status_code == 302
    assert django_rq.get_queue("backlink-integration").job_ids == []


def test_signed_out_visitors_are_sent_to_the_admin_login(queued_job: Any) -> None:
    response = Client().get(f"{DASHBOARD}queues/{QUEUE}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
