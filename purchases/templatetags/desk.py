"""``{% desk_summary %}``: the desk's counts on the admin index, for staff who may open the desk."""

from __future__ import annotations

from typing import Any

from django import template

from purchases.admin_desk import DESK_PERMISSION
from purchases.desk import DeskCount, desk_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def desk_summary(context: dict[str, Any]) -> list[DeskCount]:
    request = context.get("request")
    if request is None or not request.user.has_perm(DESK_PERMISSION):
        return []
    return desk_counts()
