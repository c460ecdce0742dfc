"""What one order job costs the database: its statements, counted, with a ceiling a change must not pass."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rq import SimpleWorker

from purchases.models import EmailRecord, Order, OrderStatus, RunSpend
from queueing.models import JobRequest, JobState
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import GOOD_BACKLINK_REPLY, make_order

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = GOOD_BACKLINK_REPLY

# Every statement of one backlink job that stores its draft at the first attempt, transactions
# included. The attempt recorded (the request's id, RUNNING, the attempt's row); the order read with
# why the run was asked for, the tokens spent and whether the customer wrote (one query); the reply's
# tokens added (one upsert). Then BEGIN, the order locked, the article locked and its next version
# number read, the version, the order's next draft number and its draft link, the order's UPDATE, its
# transition, the email row (INSERT … ON CONFLICT DO NOTHING), COMMIT. After the commit the email is
# claimed (one UPDATE), read with its order, and marked sent; the attempt and the request are closed.
# (39 before issue 13's work on jobs: a transaction of its own for the attempt, the spend and the
# claim, three savepoints, a get-or-create for the spend and for the email.)
JOB_STATEMENTS = 21


def run_backlink_jobs() -> None:
    queue = django_rq.get_queue("backlink-integration")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def paid_order(api: Any, article: Any, *, event_id: str) -> Order:
    order, _ = make_order(article, anchor_text="memory foam pillows")
    assert signed_post(api, checkout_event(order, event_id=event_id)).status_code == 200
    return order


def test_a_backlink_job_costs_a_fixed_number_of_statements(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, mailoutbox: Any
) -> None:
    fake_openai.script(GOOD, GOOD)
    paid_order(api, article, event_id="evt_warm")
    run_backlink_jobs()  # the first job of a process sets up its connections
    order = paid_order(api, article, event_id="evt_measured")

    with CaptureQueriesContext(connection) as job:
        run_backlink_jobs()

    statements = [query["sql"] for query in job.captured_queries]
    assert len(statements) <= JOB_STATEMENTS, "\n".join(sql[:160] for sql in statements)
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK and order.current_version is not None
    assert order.current_version.order_draft.number == 1
    request = JobRequest.objects.get(job_id=order.queue_job_id)
    assert request.state == JobState.DONE
    assert [a.outcome for a in request.attempts.all()] == ["done"]
    assert RunSpend.objects.get(order=order, run=1).replies == 1
    email = EmailRecord.objects.get(order=order)
    assert email.sent_at is not None and email.claimed_until is None
    assert [m.subject for m in outbox_for(order)] == ["Your backlink is ready for review"]
