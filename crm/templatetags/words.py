"""The punctuation between a template's translated pieces, in the page's language (crm.words):
"Username: wang" / "用户名：wang", "Tags (2)" / "标签（2）", "a, b" / "a、b"."""

from django import template
from django.utils.translation import pgettext

from crm import words

register = template.Library()


@register.simple_tag
def colon() -> str:
    """What follows a label before its value: ": " / "："."""
    return pgettext("after a label, before its value", ": ")


@register.simple_tag
def comma() -> str:
    """Between the items of a list: ", " / "、"."""
    return words.separator()


@register.filter
def aside(value) -> str:
    """`value` as an aside after what comes before it: " (2)" / "（2）"."""
    return words.aside(value)
