"""JobRequest becomes generic: a subject id instead of a foreign key to purchases.Order, and the
job function and its arguments on the row, so the outbox can re-put a job knowing nothing of orders.

Existing rows get them from their deterministic job id ``<kind>-<order id>-run-<N>``.
"""

from django.db import migrations, models

FUNC_FOR_KIND = {
    "backlink": "purchases.jobs.backlink_integration_job",
    "article": "purchases.jobs.article_generation_job",
}


def fill_generic_fields(apps, schema_editor):
    JobRequest = apps.get_model("queueing", "JobRequest")
    for request in JobRequest.objects.all().iterator():
        kind = request.job_id.split("-", 1)[0]
        request.subject_id = request.order_id
        request.func = FUNC_FOR_KIND.get(kind, "")
        request.kwargs = {"order_id": str(request.order_id), "run": request.run}
        request.save(update_fields=["subject_id", "func", "kwargs"])


def fill_order(apps, schema_editor):
    JobRequest = apps.get_model("queueing", "JobRequest")
    for request in JobRequest.objects.all().iterator():
        request.order_id = request.subject_id
        request.save(update_fields=["order"])


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0002_jobrequest_purpose"),
    ]

    operations = [
        migrations.AddField(model_name="jobrequest", name="subject_id", field=models.UUIDField(null=True)),
        migrations.AddField(model_name="jobrequest", name="func", field=models.CharField(default="", max_length=200)),
        migrations.AddField(model_name="jobrequest", name="kwargs", field=models.JSONField(default=dict)),
        migrations.AlterField(
            model_name="jobrequest",
            name="order",
            field=models.ForeignKey(
                null=True, on_delete=models.CASCADE, related_name="job_requests", to="purchases.order"
            ),
        ),
        migrations.RunPython(fill_generic_fields, fill_order),
        migrations.RemoveConstraint(model_name="jobrequest", name="one_job_request_per_order_run"),
        migrations.RemoveField(model_name="jobrequest", name="order"),
        migrations.AlterField(model_name="jobrequest", name="subject_id", field=models.UUIDField(db_index=True)),
        migrations.AlterField(model_name="jobrequest", name="func", field=models.CharField(max_length=200)),
        migrations.AddConstraint(
            model_name="jobrequest",
            constraint=models.UniqueConstraint(fields=("subject_id", "run"), name="one_job_request_per_subject_run"),
        ),
        migrations.AlterField(
            model_name="jobrequest",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("initial", "First run"),
                    ("regeneration", "Asked for again"),
                    ("rebase", "Re-run on newer input"),
                    ("retry", "Retry after a failure"),
                ],
                default="initial",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="jobrequest",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting to be put on the queue"),
                    ("enqueued", "On the queue"),
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed for good"),
                    ("cancelled", "Cancelled (its subject moved on, or superseded)"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
    ]
