"""Number each order's drafts 1..n (``OrderDraft.number``), existing ones by when they were stored."""

from typing import Any

from django.db import migrations, models


def number_existing_drafts(apps: Any, schema_editor: Any) -> None:
    OrderDraft = apps.get_model("purchases", "OrderDraft")
    numbers: dict[Any, int] = {}
    changed = []
    for draft in OrderDraft.objects.order_by("order_id", "created_at", "id").only("id", "order_id"):
        numbers[draft.order_id] = numbers.get(draft.order_id, 0) + 1
        draft.number = numbers[draft.order_id]
        changed.append(draft)
    OrderDraft.objects.bulk_update(changed, ["number"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0012_order_lookup"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderdraft",
            name="number",
            field=models.PositiveIntegerField(null=True, help_text="Draft 1, 2, 3… within the order."),
        ),
        migrations.RunPython(number_existing_drafts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="orderdraft",
            name="number",
            field=models.PositiveIntegerField(help_text="Draft 1, 2, 3… within the order."),
        ),
        migrations.AddConstraint(
            model_name="orderdraft",
            constraint=models.UniqueConstraint(fields=("order", "number"), name="one_draft_number_per_order"),
        ),
    ]
