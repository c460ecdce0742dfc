"""ArticleVersion no longer points at an order: purchases.OrderDraft links orders to their drafts."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0003_articleversion_estimated_cost_usd_and_more"),
        ("purchases", "0007_orderdraft"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="articleversion", name="one_version_per_order_run"),
        migrations.RemoveField(model_name="articleversion", name="order"),
        migrations.RemoveField(model_name="articleversion", name="run"),
    ]
