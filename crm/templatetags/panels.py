from django import template
from django.template.loader import get_template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context, panel) -> str:
    """Renders a panel another app registered, with its own context on top of the page's."""
    with context.push(**panel.context):
        return get_template(panel.template).template.render(context)
