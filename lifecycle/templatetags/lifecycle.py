from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from lifecycle.stages import RANK, LostReason, bulk_targets, is_forward, moves_for

register = template.Library()


@register.simple_tag(takes_context=True)
def stage_label(context, stage: str) -> str:
    return context["stage_settings"][stage].display_label


@register.simple_tag(takes_context=True)
def stage_badge(context, stage: str) -> str:
    """A stage's label in its colour (set from data-stage-colour by app.js: no style=, for
    the Content-Security-Policy). A tag, not an include: lists render one per row."""
    setting = context["stage_settings"][stage]
    return format_html(
        '<span class="stage" data-stage="{}" data-stage-colour="{}">{}</span>',
        stage,
        setting.display_colour,
        setting.display_label,
    )


@register.filter
def days_since(moment) -> int:
    if not moment:
        return 0
    return max((timezone.now() - moment).days, 0)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def stage_moves(context, stage: str) -> list[tuple[str, bool]]:
    """The (stage, is_forward) moves the viewing member may make from `stage`."""
    membership = context["request"].membership
    return moves_for(role=membership.role if membership else None, from_stage=stage)


@register.simple_tag(takes_context=True)
def bulk_stage_choices(context, from_stage: str = "") -> list[tuple[str, str, bool]]:
    """(key, label, back) of the stages the viewing member's bulk move may take the list's
    contacts to (lifecycle.stages.bulk_targets): a marketer is offered forward moves only.
    `back`: a move back for every contact listed (the list shows one stage), marked as on the
    contact page."""
    membership = context["request"].membership
    settings = context["stage_settings"]
    role = membership.role if membership else None
    return [(stage, settings[stage].display_label,
             from_stage in RANK and not is_forward(from_stage, stage))
            for stage in bulk_targets(role=role, from_stage=from_stage)]  # fmt: skip


@register.simple_tag
def lost_reason_choices():
    return LostReason.choices


@register.filter
def percent(value) -> str:
    return f"{value * 100:.0f}%" if value is not None else "—"


@register.filter
def yuan(amount) -> str:
    """An amount of money as offices write it: ¥12,800, or ¥1,234.50 when it has cents (with a
    comma between thousands in every language: Chinese locales group by none)."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        return f"¥{amount:,.0f}"
    return f"¥{amount:,.2f}"


@register.filter
def duration(seconds) -> str:
    """A time span as a person says it: 3 d, 5 h, 12 min."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds >= 86400:
        return _("%(n).1f d") % {"n": seconds / 86400}
    if seconds >= 3600:
        return _("%(n).1f h") % {"n": seconds / 3600}
    return _("%(n)d min") % {"n": seconds // 60}


@register.filter
def lost_reason_label(key: str) -> str:
    return LostReason(key).label if key in LostReason.values else key
