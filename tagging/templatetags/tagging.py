from django import template
from django.utils.html import format_html_join

from tagging.outcomes import describe, rule_title

register = template.Library()


def _stage_labels(context) -> dict:
    return {key: s.display_label for key, s in context["stage_settings"].items()}


@register.simple_tag(takes_context=True)
def outcome_lines(context, event) -> list:
    """(rule, did, why-not) for an event, in the reader's words."""
    return describe(event.outcome, _stage_labels(context))


@register.simple_tag(takes_context=True)
def rule_name(context, rule) -> str:
    return rule_title(rule, context["kind_labels"], _stage_labels(context))


@register.simple_tag(takes_context=True)
def tag_options(context, chosen=()) -> str:
    """The <option>s of a tag select ("group · tag", the `chosen` ids selected), written in one
    call: as a template loop, each tag cost five lookups per select, and the contact list has
    four selects."""
    chosen = set(chosen)
    return format_html_join(
        "",
        '<option value="{}"{}>{} · {}</option>',
        ((tag.pk, " selected" if tag.pk in chosen else "", tag.group_label, tag.label)
         for tag in context["tenant_tags"]),
    )  # fmt: skip
