"""Thin views: access helper → form → service/selector → render or redirect."""

from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header, urlencode
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from . import audit, savedviews, selectors, services, tenancy
from .access import (
    access_contact,
    access_invitation,
    access_membership,
    get_scoped_or_404,
)
from .columns import PARAM as COLUMNS_PARAM
from .columns import column_choices, columns_param, columns_shown
from .csvfiles import csv_stream
from .customfield_forms import condition_text, filter_controls
from .customfields import (
    condition_params,
    conditions_q,
    contact_custom_details,
    custom_fields_cached,
)
from .forms import (
    AuditFilterForm,
    ContactFilterForm,
    ContactForm,
    LanguageForm,
    MemberAddForm,
    MemberRoleForm,
    TenantSettingsForm,
    add_duplicate_errors,
)
from .http import safe_next, tenant_url
from .models import Role
from .pagination import keyset_page
from .panels import contact_panels, dashboard_panels
from .permissions import (
    can_delete_contacts,
    can_edit_company_settings,
    can_manage_members,
    can_view_audit_log,
    permission_required,
)
from .rows import contact_rows
from .scope import user_scope


def filter_pairs(filters) -> list[tuple[str, str]]:
    """The list's filters as (name, value) pairs: every one of them, so whatever carries the
    search on (pager links, export, "select all matching" and the bulk form's hidden fields)
    acts on exactly the contacts the list shows."""
    pairs = [(k, getattr(filters, k))
             for k in ("q", "owner", "stage", "status", "tier", "activity", "sort")]  # fmt: skip
    pairs += [(k, v) for k in ("tag_any", "tag_all", "tag_none") for v in getattr(filters, k)]
    pairs += [condition_params(condition) for condition in filters.custom]
    pairs += [(COLUMNS_PARAM, columns_param(filters.columns))]
    return [(k, v) for k, v in pairs if v not in ("", None)]


def filter_query(filters) -> str:
    """The list's filters as a query string, for pager links and "select all matching"."""
    return urlencode(filter_pairs(filters))


def login_locked_out(request, original_response=None, credentials=None):
    """What django-axes answers while an account or an address is cooling off."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    response = render(request, "crm/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@login_required
@require_GET
def home(request):
    memberships = list(selectors.memberships_of_user(user=request.user))
    invitations = list(selectors.invitations_open_for(user=request.user))
    if len(memberships) == 1 and not invitations:
        return redirect("dashboard", memberships[0].tenant.slug)
    context = {"memberships": memberships, "invitations": invitations}
    return render(request, "crm/tenant_pick.html", context)


@login_required
@require_POST
def invitation_answer(request, invitation_id: int, answer: str):
    """The invited user accepts or declines; nobody else can see or answer the invitation."""
    invitation = get_scoped_or_404(selectors.invitations_open_for(user=request.user), invitation_id)
    try:
        if answer == "accept":
            membership = tenancy.invitation_accept(invitation=invitation, user=request.user)
            messages.success(
                request,
                _("Welcome to %(company)s (%(role)s).")
                % {"company": invitation.tenant.name, "role": membership.get_role_display()},
            )
            return redirect("dashboard", invitation.tenant.slug)
        tenancy.invitation_decline(invitation=invitation, user=request.user)
    except services.ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, _("Invitation declined."))
    return redirect("home")


@require_http_methods(["GET", "POST"])
def one_time_link(request, token: str):
    """An invitation's or an admin's one-time link: choose a password, or log in to answer."""
    link = tenancy.one_time_link_find(token=token)
    if link is None:
        return render(request, "crm/link_invalid.html", status=404)
    # The link speaks for its person: their invitation is readable for this request.
    with user_scope(link.user_id):
        return _one_time_link_page(request, link)


def _one_time_link_page(request, link):
    if not tenancy.one_time_link_can_set_password(link):
        if link.invitation is None:
            return render(request, "crm/link_invalid.html", status=404)
        # An invitation for someone who has a password: they log in and answer it there.
        return render(request, "crm/link_login.html", {"link": link})
    form = SetPasswordForm(link.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = tenancy.one_time_link_set_password(
                link=link, password=form.cleaned_data["new_password1"]
            )
        except services.ServiceError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your password is set."))
            return redirect("home")
    return render(request, "crm/link_password.html", {"link": link, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """A member's own page: change the password (first of all when an admin typed it)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = tenancy.user_password_change(
                user=request.user, password=form.cleaned_data["new_password1"]
            )
        except services.ServiceError as error:
            form.add_error(None, error.message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password was changed."))
            return redirect("profile")
    return render(request, "crm/profile.html", {"form": form})


@require_POST
def language_switch(request):
    form = LanguageForm(request.POST)
    response = HttpResponseRedirect(safe_next(request, "/"))
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            tenancy.user_set_language(user=request.user, language=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax"
        )
    return response


@require_GET
def dashboard(request):
    return render(request, "crm/dashboard.html", {"panels": dashboard_panels(request)})


@require_GET
@vary_on_headers("HX-Request")
def dashboard_recent(request):
    """The dashboard's recent contacts and team, loaded after the figures (htmx)."""
    context = {
        "recent_contacts": selectors.contact_recent(tenant=request.tenant),
        "members": selectors.member_list(tenant=request.tenant),
    }
    partial = request.htmx and not request.htmx.boosted
    template = "crm/partials/dashboard_recent.html" if partial else "crm/dashboard_recent.html"
    return render(request, template, context)


@require_GET
@vary_on_headers("HX-Request")
def contact_list(request):
    # saved views: the side list, and the view the list opens (named, or the member's default)
    views = savedviews.contact_list_views(
        member=request.membership, query=request.GET, serialise=filter_query
    )
    filter_form = ContactFilterForm(views.query)
    filters, tags_gone = selectors.tag_filters_known(
        tenant=request.tenant, filters=filter_form.filters()
    )
    # the company's own fields: the columns chosen, "More filters", the conditions left out
    fields = custom_fields_cached(tenant=request.tenant)
    columns = columns_shown(filters.columns, fields)
    page = keyset_page(
        selectors.contact_list_rows(
            tenant=request.tenant,
            filters=filters,
            viewer=request.membership,
            custom=any(column.field for column in columns),
        ),
        ordering=selectors.CONTACT_SORTS[filters.sort],
        size=settings.CONTACTS_PAGE_SIZE,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    members = selectors.member_names(tenant=request.tenant)
    # the page's plain values, presented: link, day in stage, owner and tags worked out once
    page = replace(page, items=contact_rows(tenant=request.tenant, values=page.items,
                                            members=members, columns=columns))  # fmt: skip
    ignored = conditions_q(tenant=request.tenant, conditions=filters.custom, fields=fields)[1]
    context = {
        "filter_form": filter_form,
        "filters": filters,
        "filter_query": filter_query(filters),
        "filter_pairs": filter_pairs(filters),
        "total": selectors.contact_list_total(tenant=request.tenant, filters=filters, page=page),
        "tag_filter_fields": [
            ("tag_any", _("any of"), filters.tag_any),
            ("tag_all", _("all of"), filters.tag_all),
            ("tag_none", _("none of"), filters.tag_none),
        ],
        "page": page,
        "members": members,
        "grade_choices": selectors.grade_choices(tenant=request.tenant),
        "columns": columns,
        "column_choices": column_choices(filters.columns, fields),
        "custom_filters": filter_controls(fields, filters.custom, members),
        "custom_ignored": [condition_text(condition, fields) for condition in ignored],
        "tags_gone": tags_gone,
        "saved_views": views.shown_with(filters, serialise=filter_query),
    }
    if request.htmx and not request.htmx.boosted:
        context["saved_views_oob"] = True  # the side list follows the filters (hx-swap-oob)
        return render(request, "crm/partials/contact_results.html", context)
    return render(request, "crm/contact_list.html", context)


@require_GET
def contact_count(request):
    """The list's total, counted when asked for (the list's "Count" button)."""
    filters = ContactFilterForm(request.GET).filters()
    total = selectors.contact_count(
        tenant=request.tenant, filters=filters, viewer=request.membership
    )
    return render(request, "crm/partials/contact_total.html", {"total": total})


@require_http_methods(["GET", "POST"])
def contact_create(request):
    form = ContactForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                tenant=request.tenant, actor=request.membership, data=form.contact_data()
            )
        except services.DuplicateContactError as error:
            add_duplicate_errors(form, error, tenant=request.tenant)
        except services.ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.name})
            return redirect(tenant_url(request, "contact_detail", contact.pk))
    return render(request, "crm/contact_form.html", {"form": form, "contact": None})


@require_GET
def contact_detail(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    context = {
        "contact": contact,
        "panels": contact_panels(request, contact),
        "custom_details": contact_custom_details(contact=contact),
    }
    return render(request, "crm/contact_detail.html", context)


@require_http_methods(["GET", "POST"])
def contact_edit(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    form = ContactForm(
        request.POST or None, tenant=request.tenant, initial=ContactForm.initial_from(contact)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(
                contact=contact, actor=request.membership, data=form.contact_data()
            )
        except services.DuplicateContactError as error:
            add_duplicate_errors(form, error, tenant=request.tenant)
        except services.ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Contact “%(name)s” saved.") % {"name": contact.name})
            return redirect(tenant_url(request, "contact_detail", contact.pk))
    return render(request, "crm/contact_form.html", {"form": form, "contact": contact})


def _members_page(request, *, form=None, shown_link=None, status=200):
    context = {
        "members": selectors.member_list(tenant=request.tenant),
        "invitations": selectors.invitations_pending(tenant=request.tenant),
        "add_form": form or MemberAddForm(),
        "roles": Role.choices,
        "shown_link": shown_link,
    }
    response = render(request, "crm/member_list.html", context, status=status)
    if shown_link:  # shown once, on this answer: never kept by a browser or a proxy
        response["Cache-Control"] = "no-store"
    return response


def _link_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("one_time_link", args=[token]))


@require_GET
@permission_required(can_manage_members)
def member_list(request):
    return _members_page(request)


@require_POST
@permission_required(can_manage_members)
def member_add(request):
    """Invites someone. The answer is the same whether or not the username was taken."""
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            invitation, token = tenancy.member_invite(
                tenant=request.tenant, actor=request.membership, **form.cleaned_data
            )
        except services.ServiceError as error:
            form.add_error(None, error.message)
        else:
            shown = {
                "url": _link_url(request, token),
                "text": _(
                    "%(user)s is invited as %(role)s. Send them this link: it works once, "
                    "until %(expires)s, and is shown only now."
                )
                % {
                    "user": invitation.user.username,
                    "role": invitation.get_role_display(),
                    "expires": date_format(localtime(invitation.expires_at), "DATETIME_FORMAT"),
                },
            }
            return _members_page(request, shown_link=shown)
    return _members_page(request, form=form, status=400)


@require_POST
@permission_required(can_manage_members)
def member_password_link(request, membership_id: int):
    membership = access_membership(request.membership, membership_id)
    try:
        token = tenancy.member_password_link(membership=membership, actor=request.membership)
    except services.ServiceError as error:
        messages.error(request, error.message)
        return redirect(tenant_url(request, "member_list"))
    shown = {
        "url": _link_url(request, token),
        "text": _(
            "A link for %(user)s to choose a new password: it works once, for 7 days, and is "
            "shown only now. Their old password works until they use it."
        )
        % {"user": membership.display_name},
    }
    return _members_page(request, shown_link=shown)


@require_POST
@permission_required(can_manage_members)
def invitation_cancel(request, invitation_id: int):
    invitation = access_invitation(request.membership, invitation_id)
    tenancy.invitation_cancel(invitation=invitation, actor=request.membership)
    messages.success(
        request, _("The invitation for %(user)s was withdrawn.") % {"user": invitation.user}
    )
    return redirect(tenant_url(request, "member_list"))


AUDIT_ORDER = ("-at", "-id")


def _audit_filtered(request) -> tuple[AuditFilterForm, object]:
    form = AuditFilterForm(request.GET, members=selectors.member_list(tenant=request.tenant))
    return form, audit.audit_list(tenant=request.tenant, **form.filters())


@require_GET
@permission_required(can_view_audit_log)
def audit_log(request):
    """Who did what, when, from where: filtered by person, kind and days, newest first."""
    form, entries = _audit_filtered(request)
    page = keyset_page(
        entries,
        ordering=AUDIT_ORDER,
        size=settings.AUDIT_PAGE_SIZE,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    query = urlencode({k: v for k, v in request.GET.items() if k not in ("after", "before") and v})
    who = audit.audit_actor_writer(request.tenant)
    subject = audit.audit_subject_writer(request.tenant)
    rows = [(entry, who(entry), subject(entry), audit.audit_detail(entry)) for entry in page.items]
    context = {"form": form, "page": page, "rows": rows, "query": query}
    return render(request, "crm/audit_log.html", context)


@require_GET
@permission_required(can_view_audit_log)
def audit_export(request):
    """The filtered log as CSV (UTF-8 with BOM, so Excel reads Chinese)."""
    _form, entries = _audit_filtered(request)
    rows = audit.audit_csv_rows(entries.order_by(*AUDIT_ORDER), tenant=request.tenant)
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = content_disposition_header(True, f"audit-{stamp}.csv")
    return response


@require_POST
@permission_required(can_manage_members)
def member_role(request, membership_id: int):
    membership = access_membership(request.membership, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
    else:
        try:
            tenancy.membership_change_role(
                membership=membership, actor=request.membership, role=form.cleaned_data["role"]
            )
        except services.ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(user)s is now %(role)s.")
                % {"user": membership.user.username, "role": membership.get_role_display()},
            )
    return redirect(tenant_url(request, "member_list"))


@require_POST
@permission_required(can_manage_members)
def member_remove(request, membership_id: int):
    membership = access_membership(request.membership, membership_id)
    try:
        tenancy.membership_remove(membership=membership, actor=request.membership)
    except services.ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(user)s was removed from the company.") % {"user": membership.user.username},
        )
    return redirect(tenant_url(request, "member_list"))


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_company_settings)
def tenant_settings(request):
    tenant = request.tenant
    initial = {
        "name": tenant.name,
        "time_zone": tenant.time_zone,
        "default_language": tenant.default_language,
    }
    form = TenantSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            tenancy.tenant_update_settings(
                tenant=tenant, actor=request.membership, **form.cleaned_data
            )
        except services.ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Company settings saved."))
            return redirect(tenant_url(request, "tenant_settings"))
    return render(request, "crm/tenant_settings.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required(can_delete_contacts)
def contact_delete(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        services.contact_delete(contact=contact, actor=request.membership)
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
        return redirect("contact_list", request.tenant.slug)
    return render(request, "crm/contact_delete.html", {"contact": contact})


def _member_named(request, field: str):
    """The company's member the form names in `field`, None for "nobody", or False when it
    names no one (nothing chosen, another company's member, a removed one, nonsense)."""
    value = request.POST.get(field, "")
    if value == "nobody":
        return None
    try:
        return access_membership(request.membership, value)
    except Http404:
        return False


@require_POST
def contacts_bulk_assign(request):
    """The list's bulk bar: the picked contacts, or all matching the filters, to one owner."""
    back = safe_next(request, tenant_url(request, "contact_list"))
    owner = _member_named(request, "owner_to")
    if owner is False:
        messages.error(request, _("Choose who the contacts go to."))
        return redirect(back)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if request.POST.get("scope") == "all":
        filters = ContactFilterForm(request.POST).filters()
        contacts = selectors.contact_list(
            tenant=request.tenant, filters=filters, viewer=request.membership
        )
    elif ids:
        contacts = ids
    else:
        messages.error(request, _("Select some contacts first."))
        return redirect(back)
    count = services.contacts_bulk_assign(
        tenant=request.tenant, actor=request.membership, contacts=contacts, owner=owner
    )
    name = owner.display_name if owner else _("nobody")
    text = ngettext("%(count)s contact now belongs to %(name)s.",
                    "%(count)s contacts now belong to %(name)s.", count)  # fmt: skip
    (messages.success if count else messages.warning)(request, text % {"count": count,
                                                                       "name": name})  # fmt: skip
    return redirect(back)


@require_POST
@permission_required(can_manage_members)
def member_hand_over(request, membership_id: int):
    """Everything a member is responsible for, to another member, in one step."""
    member = access_membership(request.membership, membership_id)
    to = _member_named(request, "to")
    if to is False:
        messages.error(request, _("Choose another member of this company."))
        return redirect(tenant_url(request, "member_list"))
    try:
        done = services.member_work_hand_over(member=member, to=to, actor=request.membership)
    except services.ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _(
            "%(member)s's %(contacts)s contacts and %(tasks)s open tasks went to %(to)s."
        ) % {"member": member.display_name, "contacts": done.contacts, "tasks": done.tasks,
             "to": to.display_name if to else _("nobody")})  # fmt: skip
    return redirect(tenant_url(request, "member_list"))
