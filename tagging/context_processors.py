from django.utils.functional import SimpleLazyObject

from .selectors import tag_list


def tags(request):
    """The tenant's tags for filters and bulk actions (one query, only when a page uses it)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    return {"tenant_tags": SimpleLazyObject(lambda: list(tag_list(tenant=tenant)))}
