from django.utils.functional import SimpleLazyObject

from .selectors import stage_settings


def stages(request):
    """The tenant's stage labels for any template that shows a stage (one query, when used)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    return {"stage_settings": SimpleLazyObject(lambda: stage_settings(tenant=tenant))}
