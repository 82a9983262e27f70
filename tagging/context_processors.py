from django.utils.functional import SimpleLazyObject

from .selectors import tag_menu


def tags(request):
    """The tenant's tags for filters and bulk actions (one query, only when a page uses it):
    pk, label and group_label each."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    return {"tenant_tags": SimpleLazyObject(lambda: tag_menu(tenant=tenant))}
