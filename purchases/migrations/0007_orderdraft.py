"""The order's drafts are linked from the order side (OrderDraft), copied from ArticleVersion.order/run."""

import django.db.models.deletion
from django.db import migrations, models


def copy_links(apps, schema_editor):
    ArticleVersion = apps.get_model("articles", "ArticleVersion")
    OrderDraft = apps.get_model("purchases", "OrderDraft")
    OrderDraft.objects.bulk_create(
        OrderDraft(order_id=order_id, version_id=version_id, run=run)
        for version_id, order_id, run in ArticleVersion.objects.filter(order__isnull=False)
        .order_by("id")
        .values_list("id", "order_id", "run")
    )


def copy_back(apps, schema_editor):
    ArticleVersion = apps.get_model("articles", "ArticleVersion")
    OrderDraft = apps.get_model("purchases", "OrderDraft")
    for link in OrderDraft.objects.all():
        ArticleVersion.objects.filter(pk=link.version_id).update(order_id=link.order_id, run=link.run)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0003_articleversion_estimated_cost_usd_and_more"),
        ("purchases", "0006_emailrecord_claimed_until"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderDraft",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("run", models.PositiveIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="draft_links",
                        to="purchases.order",
                    ),
                ),
                (
                    "version",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="order_draft",
                        to="articles.articleversion",
                    ),
                ),
            ],
            options={"ordering": ["created_at", "id"]},
        ),
        migrations.AddConstraint(
            model_name="orderdraft",
            constraint=models.UniqueConstraint(
                condition=models.Q(("run__isnull", False)), fields=("order", "run"), name="one_draft_per_order_run"
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="drafts",
            field=models.ManyToManyField(
                blank=True, related_name="+", through="purchases.OrderDraft", to="articles.articleversion"
            ),
        ),
        migrations.RunPython(copy_links, copy_back),
    ]
