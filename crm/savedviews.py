"""Saved views of the contact list (issue 18, item 2): its filters, sort and columns under a
name, private to a member or shared with the company, and the one each member opens by default.

A view keeps the list's own query parameters ({name: [value, …]}), never HTML: whatever the list
writes for its filters is kept (custom-field filters and chosen columns among them, as they
come), and a view is read back through the list's filter form when it is opened, so one whose
tag or field was deleted since opens without it and says so.

The list opens a view at `?view=<id>` and its member's default view when given no parameters at
all; `?view=all` is the plain list. Once open, the list's own parameters are its state and
`view` only says which view they came from (the filter form carries it on).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import columns
from .customfields import condition_params, conditions_q, custom_fields_of
from .forms import ContactFilterForm
from .models import Membership, SavedView, SavedViewDefault, Tenant
from .permissions import can_delete_saved_view, can_edit_saved_view, can_share_saved_views
from .selectors import ContactFilters, tag_choices
from .services import NotAllowed, ServiceError

VIEW_PARAM = "view"  # which saved view the list has open: an id, or ALL for none
ALL = "all"
PAGING = frozenset({"after", "before"})  # where the list is, not what it shows
TAG_PARAMS = ("tag_any", "tag_all", "tag_none")  # their ids are checked against the company's

NAME_LENGTH = SavedView._meta.get_field("name").max_length
# What a view may hold, far beyond what the list's form sends: a tampered post is refused.
MOST_PARAMS, MOST_VALUES, VALUE_LENGTH = 60, 200, 200


# --- the list's state as a view keeps it ---------------------------------------------------

# How the list writes its filters as a query string (crm.views.filter_query: its pager, export
# and count links carry the same), passed in by the views so that this module stays below them.
Serialise = Callable[[ContactFilters], str]


def _parsed(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=False):
        params.setdefault(name, []).append(value)
    return dict(sorted(params.items()))


def state_params(filters: ContactFilters, *, serialise: Serialise) -> dict[str, list[str]]:
    """The list's state as a view keeps it: every parameter the list writes for `filters` (so
    whatever it reads: custom-field filters and columns too, as they come), by name, less what
    the bare list has anyway (the default sort)."""
    untouched = _parsed(serialise(ContactFilters()))
    return {name: values for name, values in _parsed(serialise(filters)).items()
            if untouched.get(name) != values}  # fmt: skip


def params_query(params: dict[str, list[str]]) -> str:
    """A view's parameters as the list's query string."""
    return urlencode(sorted(params.items()), doseq=True)


def query_without_view(query: str) -> QueryDict:
    """A posted query string (the list's state a form carried), without paging or the view."""
    data = QueryDict(query or "", mutable=True)
    for name in (*PAGING, VIEW_PARAM):
        data.pop(name, None)
    return data


def _as_query(params: dict[str, list[str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, values in params.items():
        data.setlist(name, list(values))
    return data


def _check_params(params: dict) -> dict[str, list[str]]:
    if not isinstance(params, dict) or len(params) > MOST_PARAMS:
        raise ServiceError(_("These filters cannot be saved."))
    checked = {}
    for name, values in params.items():
        if (
            not isinstance(name, str)
            or not isinstance(values, list | tuple)
            or len(values) > MOST_VALUES
            or not all(isinstance(v, str) and len(v) <= VALUE_LENGTH for v in values)
        ):
            raise ServiceError(_("These filters cannot be saved."))
        if values:
            checked[name] = list(values)
    return dict(sorted(checked.items()))


# --- reads ---------------------------------------------------------------------------------


def saved_views_visible(*, member: Membership):
    """The views `member` may open: their own and the ones shared with the company."""
    return SavedView.objects.for_tenant(member.tenant).filter(Q(owner=member) | Q(shared=True))


def saved_views_for_list(*, member: Membership) -> list[SavedView]:
    """The side list's views, by name, each with `is_default` (the member's default view) and
    its owner's name: one query."""
    defaults = SavedViewDefault.objects.for_tenant(member.tenant).filter(
        member=member, view=OuterRef("pk")
    )
    return list(
        saved_views_visible(member=member)
        .annotate(is_default=Exists(defaults))
        .select_related("owner__user")
        .order_by("name", "pk")
    )


@dataclass
class Reopened:
    """A view's parameters as the list can apply them today, and what was left out."""

    query: QueryDict
    left_out: list[str] = field(default_factory=list)


def filter_form(data: QueryDict) -> ContactFilterForm:
    """The list's filter form over `data`, as the list builds it (the company's tags and
    fields are checked when the filters run, and when a view is opened)."""
    return ContactFilterForm(data)


def view_reopened(*, view: SavedView, tenant: Tenant, serialise: Serialise) -> Reopened:
    """The view's parameters read again through the list's filter form, as the list would
    write them today: a value the form refuses, a parameter the list no longer reads, tags the
    company no longer has and conditions on fields it no longer has (or on values they no
    longer take) are left out, each named."""
    form = filter_form(_as_query(view.params))
    refused = {} if form.is_valid() else dict(form.errors)
    if refused:
        kept = {name: values for name, values in view.params.items() if name not in refused}
        form = filter_form(_as_query(kept))
    filters = form.filters()
    params = state_params(filters, serialise=serialise)
    untouched = _parsed(serialise(ContactFilters()))
    left_out = []
    for name in view.params:
        if name in refused:
            left_out.append(f"{form.fields[name].label}: {refused[name][0]}")
        elif name not in params and name not in untouched:
            left_out.append(_("a filter that no longer exists (%(name)s)") % {"name": name})
    if filters.custom:
        left_out += _custom_left_out(filters.custom, params, tenant=tenant)
    if filters.columns and any(key.startswith(columns.CUSTOM) for key in filters.columns):
        left_out += _columns_left_out(filters.columns, params, tenant=tenant)
    tagged = [name for name in TAG_PARAMS if params.get(name)]
    if tagged:
        known = {str(pk) for pk, _label in tag_choices(tenant=tenant)}
        gone = 0
        for name in tagged:
            kept_ids = [value for value in params[name] if value in known]
            gone += len(params[name]) - len(kept_ids)
            params[name] = kept_ids
        if gone:
            text = ngettext("%(count)s tag that was deleted", "%(count)s tags that were deleted",
                            gone)  # fmt: skip
            left_out.append(text % {"count": gone})
    return Reopened(_as_query({k: v for k, v in params.items() if v}), left_out)


def _custom_left_out(conditions, params: dict[str, list[str]], *, tenant: Tenant) -> list[str]:
    """The view's conditions on the company's own fields that cannot apply today (the field
    was deleted, or no longer takes the value: an option renamed, a kind changed), taken out
    of `params` and named."""
    fields = custom_fields_of(tenant=tenant)
    labels = {field.key: field.label for field in fields}
    left_out = []
    for condition in conditions_q(tenant=tenant, conditions=conditions, fields=fields)[1]:
        params.pop(condition_params(condition)[0], None)
        if condition.key not in labels:
            text = _("a field that was deleted (%(key)s)") % {"key": condition.key}
        else:
            text = _("%(field)s: “%(value)s” no longer applies") % {
                "field": labels[condition.key], "value": condition.value
            }  # fmt: skip
        left_out.append(text)
    return left_out


def _columns_left_out(chosen: tuple[str, ...], params: dict[str, list[str]], *,
                      tenant: Tenant) -> list[str]:  # fmt: skip
    """The view's columns of fields the company no longer has, taken out of `params` and
    named (the list would leave them out anyway, without a word)."""
    keys = {f"{columns.CUSTOM}{field.key}" for field in custom_fields_of(tenant=tenant)}
    gone = [key for key in chosen if key.startswith(columns.CUSTOM) and key not in keys]
    if not gone:
        return []
    kept = tuple(key for key in chosen if key not in gone)
    value = columns.columns_param(None if kept == columns.DEFAULT else kept)
    if value:
        params[columns.PARAM] = [value]
    else:
        params.pop(columns.PARAM, None)
    return [_("the column of a field that was deleted (%(key)s)")
            % {"key": key.removeprefix(columns.CUSTOM)} for key in gone]  # fmt: skip


@dataclass
class ListViews:
    """What the contact list shows of saved views: the side list, the view it has open (if
    any) and whether its filters still equal that view's."""

    member: Membership
    mine: list[SavedView]  # private ones (the member's own)
    shared: list[SavedView]  # shared with the company (theirs among them)
    query: QueryDict  # what the list reads: the request's parameters, or the opened view's
    open: SavedView | None = None
    default: SavedView | None = None
    opened_default: bool = False  # given no parameters, the list opened the member's default
    missing: bool = False  # ?view= named no view this member can see
    left_out: list[str] = field(default_factory=list)
    current: dict[str, list[str]] = field(default_factory=dict)  # the list's state, as kept

    @property
    def current_query(self) -> str:
        return params_query(self.current)

    @property
    def changed(self) -> bool:
        """The open view's filters were changed on the list (or left out when it opened)."""
        return self.open is not None and self.current != self.open.params

    @property
    def may_edit(self) -> bool:
        """Whether the member may rename, share or update the open view."""
        return self.open is not None and can_edit_saved_view(self.member, self.open)

    @property
    def may_delete(self) -> bool:
        return self.open is not None and can_delete_saved_view(self.member, self.open)

    def shown_with(self, filters: ContactFilters, *, serialise: Serialise) -> "ListViews":
        """Completes it with the filters the list applied."""
        self.current = state_params(filters, serialise=serialise)
        if self.open is None:  # a view the list's state equals is the one open
            self.open = next((v for v in (*self.mine, *self.shared)
                              if v.params == self.current and self.current), None)  # fmt: skip
        return self


def contact_list_views(*, member: Membership, query: QueryDict, serialise: Serialise) -> ListViews:
    """The saved views for the contact list given `query`: opens the view it names (alone,
    `?view=<id>`), or the member's default when it names nothing at all. One query, and one
    more for the company's tags when an opened view filters by tags."""
    views = saved_views_for_list(member=member)
    mine = [v for v in views if not v.shared]
    shared = [v for v in views if v.shared]
    default = next((v for v in views if v.is_default), None)
    state = ListViews(member=member, mine=mine, shared=shared, query=query, default=default)
    asked = query.get(VIEW_PARAM, "")
    if not query:
        state.open, state.opened_default = default, default is not None
    elif asked and asked != ALL:
        state.open = next((v for v in views if str(v.pk) == asked), None)
        state.missing = state.open is None
    opening = state.open is not None and not (set(query) - {VIEW_PARAM} - PAGING)
    if opening:
        reopened = view_reopened(view=state.open, tenant=member.tenant, serialise=serialise)
        state.query, state.left_out = reopened.query, reopened.left_out
        state.query.setlist(VIEW_PARAM, [str(state.open.pk)])
    return state


# --- writes --------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError(_("A view needs a name."))
    if len(name) > NAME_LENGTH:
        raise ServiceError(
            _("A view's name has at most %(count)s characters.") % {"count": NAME_LENGTH}
        )
    return name


def _check_name_free(*, tenant: Tenant, owner: Membership, name: str, shared: bool,
                     view: SavedView | None) -> None:  # fmt: skip
    others = SavedView.objects.for_tenant(tenant)
    if view is not None:
        others = others.exclude(pk=view.pk)
    if others.filter(owner=owner, name=name).exists():
        raise ServiceError(_("You already have a view named “%(name)s”.") % {"name": name})
    if shared and others.filter(shared=True, name=name).exists():
        raise ServiceError(
            _("A view named “%(name)s” is already shared with the company.") % {"name": name}
        )


def _saved(view: SavedView) -> SavedView:
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:  # the same name saved at the same moment by another request
        raise ServiceError(_("That name was just taken; choose another.")) from None
    return view


@transaction.atomic
def saved_view_create(*, tenant: Tenant, actor: Membership, name: str,
                      params: dict[str, list[str]], shared: bool = False) -> SavedView:  # fmt: skip
    """Keeps the list's state (`params`, as list_params gives it) under `name`."""
    if shared and not can_share_saved_views(actor):
        raise NotAllowed(_("Your role keeps its views private: ask a marketer or an admin."))
    name = _clean_name(name)
    _check_name_free(tenant=tenant, owner=actor, name=name, shared=shared, view=None)
    view = SavedView(tenant=tenant, owner=actor, name=name, params=_check_params(params),
                     shared=shared)  # fmt: skip
    return _saved(view)


@transaction.atomic
def saved_view_update(*, view: SavedView, actor: Membership,
                      params: dict[str, list[str]]) -> SavedView:  # fmt: skip
    """Saves the list's current state into the open view."""
    if not can_edit_saved_view(actor, view):
        raise NotAllowed(_("Only the member who made this view may change it."))
    view.params = _check_params(params)
    view.save(update_fields=["params", "updated_at"])
    return view


@transaction.atomic
def saved_view_edit(*, view: SavedView, actor: Membership, name: str, shared: bool) -> SavedView:
    """Renames the view, and shares it with the company or keeps it private."""
    if not can_edit_saved_view(actor, view):
        raise NotAllowed(_("Only the member who made this view may change it."))
    if shared and not can_share_saved_views(actor):
        raise NotAllowed(_("Your role keeps its views private: ask a marketer or an admin."))
    name = _clean_name(name)
    _check_name_free(tenant=view.tenant, owner=actor, name=name, shared=shared, view=view)
    unshared = view.shared and not shared
    view.name, view.shared = name, shared
    _saved(view)
    if unshared:  # the colleagues who opened it by default no longer see it
        SavedViewDefault.objects.for_tenant(view.tenant).filter(view=view).exclude(
            member=actor
        ).delete()
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: Membership) -> None:
    if not can_delete_saved_view(actor, view):
        raise NotAllowed(
            _("Only the member who made this view, or an admin for a shared one, may delete it.")
        )
    view.delete()  # and, with it, every member's default that was this view


@transaction.atomic
def saved_view_make_default(*, view: SavedView, actor: Membership) -> None:
    """`actor`'s contact list opens with `view` (one they can see) from now on."""
    if view.tenant_id != actor.tenant_id or not (view.shared or view.owner_id == actor.pk):
        raise NotAllowed(_("That view is not shared with you."))
    SavedViewDefault.objects.for_tenant(view.tenant).update_or_create(
        member=actor, defaults={"view": view, "tenant": view.tenant}
    )


@transaction.atomic
def saved_view_default_clear(*, actor: Membership) -> None:
    """`actor`'s contact list opens with every contact again."""
    SavedViewDefault.objects.for_tenant(actor.tenant).filter(member=actor).delete()
