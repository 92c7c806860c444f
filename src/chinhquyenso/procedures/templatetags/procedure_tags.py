"""Small display helpers of the procedures pages."""

from __future__ import annotations

from django import template

from chinhquyenso.procedures.services import format_minutes

register = template.Library()


@register.filter
def vnd(amount) -> str:
    """50000 → "50.000 đồng"; None → "Chưa rõ" (the source did not state it)."""
    if amount is None or amount == "":
        return "Chưa rõ"
    if int(amount) == 0:
        return "Miễn phí"
    return f"{int(amount):,}".replace(",", ".") + " đồng"


@register.filter
def working_time(minutes, day_minutes=450) -> str:
    return format_minutes(minutes, day_minutes=day_minutes)


@register.filter
def time_value(value) -> str:
    """Decimal("1.0") → "1", Decimal("0.5") → "0,5"."""
    if value is None:
        return ""
    text = f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)
    return text.replace(".", ",")
