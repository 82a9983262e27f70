"""Saved views of the contact list: save the list's state under a name, save new filters into
the open view, rename and share it, delete it, open it by default. The list shows them
(crm.views.contact_list); crm.savedviews holds the rules, crm.permissions who may."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import savedviews
from .access import access_saved_view
from .forms import SavedViewForm
from .http import tenant_url
from .permissions import can_edit_saved_view, can_share_saved_views
from .services import NotAllowed, ServiceError
from .views import filter_query


def _list_url(request, *, view=None, query: str = "") -> str:
    url = tenant_url(request, "contact_list")
    if view is not None:
        return f"{url}?{urlencode({savedviews.VIEW_PARAM: view.pk})}"
    return f"{url}?{query}" if query else url


def _posted_state(request) -> dict[str, list[str]]:
    """The list's state the page carried (`params`, a query string), read as the list reads it."""
    data = savedviews.query_without_view(request.POST.get("params", ""))
    filters = savedviews.filter_form(data)
    if not filters.is_valid():
        raise ServiceError(_("These filters are not valid: correct them on the list first."))
    return savedviews.state_params(filters.filters(), serialise=filter_query)


def _form_page(request, form, *, view=None, status=200):
    posted = savedviews.query_without_view(request.POST.get("params", "")).urlencode()
    back = _list_url(request, view=view, query=posted)
    # a role that keeps its views private is not offered the box (the service refuses it)
    may_share = can_share_saved_views(request.membership)
    context = {"form": form, "view": view, "back": back, "may_share": may_share}
    return render(request, "crm/saved_view_form.html", context, status=status)


@require_POST
def saved_view_create(request):
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = savedviews.saved_view_create(
                tenant=request.tenant, actor=request.membership, name=form.cleaned_data["name"],
                params=_posted_state(request), shared=form.cleaned_data["shared"],
            )  # fmt: skip
        except NotAllowed as error:
            raise PermissionDenied(error.message) from None
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            text = (
                _("View “%(name)s” saved, shared with the company.")
                if view.shared
                else _("View “%(name)s” saved; only you see it.")
            )
            messages.success(request, text % {"name": view.name})
            return redirect(_list_url(request, view=view))
    return _form_page(request, form, status=400)


@require_POST
def saved_view_update(request, view_id: int):
    """Saves the list's current filters into the open view."""
    view = access_saved_view(request.membership, view_id)
    try:
        savedviews.saved_view_update(
            view=view, actor=request.membership, params=_posted_state(request)
        )
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("View “%(name)s” updated.") % {"name": view.name})
    return redirect(_list_url(request, view=view))


@require_http_methods(["GET", "POST"])
def saved_view_edit(request, view_id: int):
    """Rename the view, and share it with the company or keep it to oneself (its owner)."""
    view = access_saved_view(request.membership, view_id)
    if request.method == "GET" and not can_edit_saved_view(request.membership, view):
        # a colleague's shared view (a link passed on): back to it on the list, saying why
        messages.error(request, _("Only the member who made this view may change it."))
        return redirect(_list_url(request, view=view))
    initial = {"name": view.name, "shared": view.shared}
    form = SavedViewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            savedviews.saved_view_edit(
                view=view, actor=request.membership, name=form.cleaned_data["name"],
                shared=form.cleaned_data["shared"],
            )  # fmt: skip
        except NotAllowed as error:
            raise PermissionDenied(error.message) from None
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
            return redirect(_list_url(request, view=view))
    return _form_page(request, form, view=view, status=400 if form.errors else 200)


@require_POST
def saved_view_delete(request, view_id: int):
    view = access_saved_view(request.membership, view_id)
    try:
        savedviews.saved_view_delete(view=view, actor=request.membership)
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(_list_url(request, query=urlencode({savedviews.VIEW_PARAM: savedviews.ALL})))


@require_POST
def saved_view_default(request, view_id: int):
    """Opens the contact list with this view from now on, or (`clear`) with every contact."""
    view = access_saved_view(request.membership, view_id)
    if request.POST.get("clear"):
        savedviews.saved_view_default_clear(actor=request.membership)
        messages.success(request, _("The contact list opens with every contact again."))
    else:
        savedviews.saved_view_make_default(view=view, actor=request.membership)
        messages.success(
            request, _("The contact list opens with “%(name)s” from now on.") % {"name": view.name}
        )
    return redirect(_list_url(request, view=view))
