from django.utils.functional import SimpleLazyObject

from .selectors import memberships_of_user


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_tenant": None, "current_membership": None, "my_memberships": []}
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        # Evaluated only by the header's switcher, once per page.
        "my_memberships": SimpleLazyObject(lambda: list(memberships_of_user(user=user))),
    }
