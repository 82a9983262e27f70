from django import template

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
