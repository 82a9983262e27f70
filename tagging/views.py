"""Tags on contacts, the tag scheme, events and rules, and merging duplicates by hand. The
import pages are in import_views."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm.access import access_contact, access_undo
from crm.forms import ContactFilterForm
from crm.http import safe_next, tenant_url
from crm.permissions import can_edit_rules, can_edit_tag_scheme, permission_required
from crm.selectors import contact_list
from crm.services import ServiceError
from crm.undo import TAG_REMOVE, undo_offer_keep, undo_seconds_left
from crm.words import labelled, listed
from lifecycle.selectors import stage_settings

from . import rules, services
from .access import (
    access_event_kind,
    access_rule,
    access_tag,
    access_tag_alias,
    access_tag_group,
)
from .events import BUILTIN_KINDS, DEFAULT_RULES
from .forms import (
    AliasForm,
    BulkTagForm,
    ContactTagForm,
    EventForm,
    EventKindForm,
    EventKindRenameForm,
    MergeForm,
    RuleForm,
    TagForm,
    TagGroupForm,
    TagMoveForm,
)
from .outcomes import describe, title_from_key
from .panels import tags_panel_context
from .selectors import (
    event_amount_needed,
    event_kind_names,
    event_kind_usage,
    event_kinds,
    rule_list,
    tag_group_tags,
    tag_groups,
    tag_merge_preview,
    tag_resolve,
    tag_suggest,
    tag_usage,
)
from .undo import TAG_KINDS, contact_tag_remove_undoable, contacts_bulk_tag_undoable, tags_undo

# --- tags on a contact ---------------------------------------------------------------------


def _tags_panel(request, contact, **extra):
    if request.htmx:
        context = tags_panel_context(request, contact, **extra)
        return render(request, "tagging/partials/tags_panel.html", context)
    for level, key in ((messages.success, "message"), (messages.error, "error")):
        if extra.get(key):
            level(request, extra[key])
    return redirect(tenant_url(request, "contact_detail", contact.pk))


@require_POST
def contact_tag_add(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    form = ContactTagForm(request.POST)
    form.is_valid()
    tag = None
    if form.cleaned_data.get("tag"):
        tag = access_tag(request.membership, form.cleaned_data["tag"])
    elif form.cleaned_data.get("name"):
        tag = tag_resolve(tenant=request.tenant, name=form.cleaned_data["name"])
    if tag is None:
        name = (form.cleaned_data.get("name") or "").strip()
        if not name:
            return _tags_panel(request, contact, error=_("Type a tag name or pick one."))
        return _tags_panel(
            request, contact, error=_("There is no tag “%(name)s”.") % {"name": name}
        )
    try:
        result = services.contact_tag_add(contact=contact, tag=tag, actor=request.membership)
    except ServiceError as error:
        return _tags_panel(request, contact, error=error.message)
    if not result.added:
        message = _("Already tagged “%(tag)s”.") % {"tag": tag.label}
    elif result.replaced:
        message = _("Tagged “%(tag)s” instead of “%(old)s” (one at a time in “%(group)s”).") % {
            "tag": tag.label,
            "old": "、".join(result.replaced),
            "group": tag.group.label,
        }
    else:
        message = _("Tagged “%(tag)s”.") % {"tag": tag.label}
    return _tags_panel(request, contact, message=message)


@require_POST
def contact_tag_remove(request, contact_id: int, tag_id: int):
    contact = access_contact(request.membership, contact_id)
    tag = access_tag(request.membership, tag_id)
    undo = contact_tag_remove_undoable(contact=contact, tag=tag, actor=request.membership)
    message = _("Removed “%(tag)s”.") % {"tag": tag.label}
    if undo is None:
        return _tags_panel(request, contact, message=message)
    if not request.htmx:  # the page it goes back to offers it; the panel, in place
        undo_offer_keep(request, undo, tenant_url(request, "contact_tags_undo", undo.pk))
    return _tags_panel(
        request, contact, message=message, undo=undo, undo_seconds=undo_seconds_left(undo)
    )


@require_POST
def contact_tags_undo(request, undo_id: int):
    """The member's last tag removal or bulk tag, taken back while it may be (tagging.undo)."""
    action = access_undo(request.membership, undo_id, kinds=TAG_KINDS)
    error = done = ""
    try:
        tags_undo(undo=action, actor=request.membership)
    except ServiceError as refused:
        error = refused.message
    else:
        done = _undone(action)
    if action.kind == TAG_REMOVE and request.htmx:
        contact = access_contact(request.membership, action.details["contact"])
        return _tags_panel(request, contact, message=done, error=error)
    (messages.error if error else messages.success)(request, error or done)
    if action.kind == TAG_REMOVE:
        back = tenant_url(request, "contact_detail", action.details["contact"])
    else:
        back = tenant_url(request, "contact_list")
    return redirect(safe_next(request, back))


def _undone(action) -> str:
    tag, count = action.details.get("label", ""), action.count
    if action.kind == TAG_REMOVE:
        return _("Undone: “%(tag)s” is back.") % {"tag": tag}
    if action.details.get("add"):
        text = ngettext(
            "Undone: “%(tag)s” is off the %(count)s contact it was added to.",
            "Undone: “%(tag)s” is off the %(count)s contacts it was added to.",
            count,
        )
    else:
        text = ngettext(
            "Undone: “%(tag)s” is back on %(count)s contact.",
            "Undone: “%(tag)s” is back on %(count)s contacts.",
            count,
        )
    return text % {"tag": tag, "count": count}


@require_GET
def contact_tag_suggest(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    term = request.GET.get("name", "")
    suggestions = tag_suggest(tenant=request.tenant, term=term, exclude_contact=contact)
    context = {"contact": contact, "suggestions": suggestions, "term": term.strip()}
    return render(request, "tagging/partials/tag_suggestions.html", context)


@require_POST
def contact_event_log(request, contact_id: int):
    contact = access_contact(request.membership, contact_id)
    form = EventForm(request.POST, tenant=request.tenant)
    asking = False
    if form.is_valid() and request.htmx and not request.POST.get("without_amount"):
        # a payment intent without its amount would move nobody: ask for it first, in place
        asking = _ask_for_the_amount(request, contact, form)
    if form.is_valid() and not asking:
        try:
            event, _created = rules.event_log(
                contact=contact, actor=request.membership, **form.cleaned_data
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            _event_logged_messages(request, event)
            detail = tenant_url(request, "contact_detail", contact.pk)
            # the rules may have moved and tagged the contact: the whole page again
            return HttpResponseClientRedirect(detail) if request.htmx else redirect(detail)
    if request.htmx:  # what was typed stays, with the reason beside it
        context = {"contact": contact, "event_form": form, "without_amount": asking}
        return render(request, "tagging/partials/event_form.html", context)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(tenant_url(request, "contact_detail", contact.pk))


def _ask_for_the_amount(request, contact, form) -> bool:
    data = form.cleaned_data
    if data["amount"] is not None:
        return False
    stage = event_amount_needed(contact=contact, kind=data["kind"])
    if stage is None:
        return False
    kind = event_kinds(tenant=request.tenant)[data["kind"]]
    label = stage_settings(tenant=request.tenant)[stage].display_label
    form.add_error(
        "amount",
        _("“%(kind)s” moves the contact to “%(stage)s”, which needs an expected amount: type "
          "it, or log it without one (the contact then stays where it is).")
        % {"kind": kind, "stage": label},
    )  # fmt: skip
    return True


def _event_logged_messages(request, event) -> None:
    kinds = event_kinds(tenant=request.tenant)
    messages.success(request, _("Logged: %(kind)s.") % {"kind": kinds[event.kind]})
    labels = {k: s.display_label for k, s in stage_settings(tenant=request.tenant).items()}
    for name, done, why_not in describe(event.outcome, labels, kinds):
        if done:
            messages.info(request, labelled(name, listed(done)))
        for why in why_not:
            messages.warning(request, labelled(name, why))


@require_POST
def contacts_bulk_tag(request):
    filter_form = ContactFilterForm(request.POST)
    form = BulkTagForm(request.POST, tenant=request.tenant)
    back = safe_next(request, tenant_url(request, "contact_list"))
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not form.is_valid():
        messages.error(request, _("Choose a tag."))
        return redirect(back)
    if request.POST.get("scope") == "all":
        contacts = contact_list(
            tenant=request.tenant, filters=filter_form.filters(), viewer=request.membership
        )
    elif ids:
        contacts = ids
    else:
        messages.error(request, _("Select some contacts first."))
        return redirect(back)
    tag, add = form.cleaned_data["tag"], form.cleaned_data["operation"] == "add"
    changed, undo = contacts_bulk_tag_undoable(
        tenant=request.tenant, actor=request.membership, contacts=contacts, tag=tag, add=add
    )
    if undo is not None:
        undo_offer_keep(request, undo, tenant_url(request, "contact_tags_undo", undo.pk))
    if add:
        text = ngettext(
            "Tagged %(count)s contact “%(tag)s”.", "Tagged %(count)s contacts “%(tag)s”.", changed
        )
    else:
        text = ngettext(
            "Removed “%(tag)s” from %(count)s contact.",
            "Removed “%(tag)s” from %(count)s contacts.",
            changed,
        )
    (messages.success if changed else messages.warning)(
        request, text % {"count": changed, "tag": tag.label}
    )
    return redirect(back)


# --- the tag scheme (admins and marketers) ---------------------------------------------------


@require_GET
@permission_required(can_edit_tag_scheme)
def tag_settings(request):
    context = {
        "groups": tag_groups(tenant=request.tenant),
        "usage": tag_usage(tenant=request.tenant),
        "group_form": TagGroupForm(prefix="group"),
        "tag_form": TagForm(tenant=request.tenant, prefix="tag"),
    }
    return render(request, "tagging/tag_settings.html", context)


def _scheme_result(request, action, success: str, back: str):
    try:
        action()
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect(back)


def _form_errors(request, form, back: str):
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, labelled(label, error) if label else error)
    return redirect(back)


@require_POST
@permission_required(can_edit_tag_scheme)
def tag_group_create(request):
    form = TagGroupForm(request.POST, prefix="group")
    back = tenant_url(request, "tag_settings")
    if not form.is_valid():
        return _form_errors(request, form, back)
    return _scheme_result(
        request,
        lambda: services.tag_group_save(
            tenant=request.tenant, actor=request.membership, **form.cleaned_data
        ),
        _("Tag group “%(label)s” saved.") % {"label": form.cleaned_data["label"]},
        back,
    )


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_tag_scheme)
def tag_group_edit(request, group_id: int):
    group = access_tag_group(request.membership, group_id)
    initial = {"label": group.label, "description": group.description, "colour": group.colour,
               "single_choice": group.single_choice}  # fmt: skip
    form = TagGroupForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if "delete" in request.POST:
            return _scheme_result(
                request,
                lambda: services.tag_group_delete(group=group, actor=request.membership),
                _("Tag group deleted."),
                tenant_url(request, "tag_settings"),
            )
        if form.is_valid():
            try:
                services.tag_group_save(
                    tenant=request.tenant, actor=request.membership, group=group,
                    **form.cleaned_data,
                )  # fmt: skip
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Tag group saved."))
                return redirect(tenant_url(request, "tag_settings"))
    return render(request, "tagging/tag_group_edit.html", {"group": group, "form": form})


@require_POST
@permission_required(can_edit_tag_scheme)
def tag_create(request):
    form = TagForm(request.POST, tenant=request.tenant, prefix="tag")
    back = tenant_url(request, "tag_settings")
    if not form.is_valid():
        return _form_errors(request, form, back)
    return _scheme_result(
        request,
        lambda: services.tag_create(
            tenant=request.tenant, actor=request.membership, **form.cleaned_data
        ),
        _("Tag “%(label)s” created.") % {"label": form.cleaned_data["label"]},
        back,
    )


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_tag_scheme)
def tag_edit(request, tag_id: int):
    tag = access_tag(request.membership, tag_id)
    initial = {"label": tag.label, "group": tag.group_id, "colour": tag.colour,
               "description": tag.description}  # fmt: skip
    form = TagForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.tag_update(tag=tag, actor=request.membership, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Tag saved."))
            return redirect(tenant_url(request, "tag_edit", tag.pk))
    context = {
        "tag": tag,
        "form": form,
        "aliases": list(tag.aliases.all()),
        "alias_form": AliasForm(),
        "merge_form": MergeForm(tenant=request.tenant, source=tag),
        "held": tag_usage(tenant=request.tenant).get(tag.pk, 0),
    }
    return render(request, "tagging/tag_edit.html", context)


def _group_rows(request, group, said: str = "", status: int = 200):
    """A group's rows on the tags page, as its JS swaps them in after a move or a drag."""
    context = {"group": group, "tags": tag_group_tags(group=group), "said": said,
               "usage": tag_usage(tenant=request.tenant)}  # fmt: skip
    return render(request, "tagging/partials/tag_rows.html", context, status=status)


def _settings_at(request, group_id: int):
    return redirect(f"{tenant_url(request, 'tag_settings')}#group-{group_id}")


@require_POST
@permission_required(can_edit_tag_scheme)
def tag_move(request, tag_id: int):
    """Up or down one place in its group: the buttons beside each tag (plain forms)."""
    tag = access_tag(request.membership, tag_id)
    form = TagMoveForm(request.POST)
    if not form.is_valid():
        return _form_errors(request, form, _settings_at(request, tag.group_id).url)
    up = form.cleaned_data["direction"] == "up"
    try:
        moved = services.tag_move(tag=tag, actor=request.membership, up=up)
    except ServiceError as error:
        said, level = error.message, messages.error
    else:
        if not moved:
            said = _("“%(tag)s” is first already.") if up else _("“%(tag)s” is last already.")
        else:
            said = _("“%(tag)s” moved up.") if up else _("“%(tag)s” moved down.")
        said, level = said % {"tag": tag.label}, messages.success
    if request.htmx:
        return _group_rows(request, tag.group, said)
    level(request, said)
    return _settings_at(request, tag.group_id)


@require_POST
@permission_required(can_edit_tag_scheme)
def tag_group_order(request, group_id: int):
    """The group's tags in the order they were dragged into: every tag's id, in order."""
    group = access_tag_group(request.membership, group_id)
    ids = [int(pk) for pk in request.POST.getlist("tag") if pk.isdigit()]
    # the order the page showed before the drag, when the page says (the drag always does)
    seen = [int(pk) for pk in request.POST.getlist("seen") if pk.isdigit()] or None
    try:
        services.tag_group_order(group=group, actor=request.membership, tag_ids=ids, seen=seen)
    except ServiceError as error:
        if request.htmx:
            return _group_rows(request, group, error.message, status=409)
        messages.error(request, error.message)
    else:
        said = _("The order of “%(group)s” is saved.") % {"group": group.label}
        if request.htmx:
            return _group_rows(request, group, said)
        messages.success(request, said)
    return _settings_at(request, group.pk)


@require_POST
@permission_required(can_edit_tag_scheme)
def tag_alias_add(request, tag_id: int):
    tag = access_tag(request.membership, tag_id)
    form = AliasForm(request.POST)
    back = tenant_url(request, "tag_edit", tag.pk)
    if not form.is_valid():
        return _form_errors(request, form, back)
    name = form.cleaned_data["name"]
    return _scheme_result(
        request,
        lambda: services.tag_alias_add(tag=tag, actor=request.membership, name=name),
        _("Alias “%(name)s” added.") % {"name": name},
        back,
    )


@require_POST
@permission_required(can_edit_tag_scheme)
def tag_alias_remove(request, alias_id: int):
    alias = access_tag_alias(request.membership, alias_id)
    return _scheme_result(
        request,
        lambda: services.tag_alias_remove(alias=alias, actor=request.membership),
        _("Alias “%(name)s” removed.") % {"name": alias.name},
        tenant_url(request, "tag_edit", alias.tag_id),
    )


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_tag_scheme)
def tag_merge(request, tag_id: int):
    """Asks first, with what the merge would do (GET, or a POST not yet confirmed); merges on
    the confirmation's POST."""
    source = access_tag(request.membership, tag_id)
    data = request.POST if request.method == "POST" else request.GET
    if "target" not in data:  # opened without a tag to merge into: the choice, nothing wrong yet
        form = MergeForm(tenant=request.tenant, source=source)
        return render(request, "tagging/tag_merge.html", {"source": source, "merge_form": form})
    form = MergeForm(data, tenant=request.tenant, source=source)
    if not form.is_valid():
        return _form_errors(request, form, tenant_url(request, "tag_edit", source.pk))
    target = form.cleaned_data["target"]
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        preview = tag_merge_preview(source=source, target=target)
        context = {"source": source, "target": target, "preview": preview}
        return render(request, "tagging/tag_merge.html", context)
    try:
        moved = services.tag_merge(source=source, target=target, actor=request.membership)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(tenant_url(request, "tag_edit", source.pk))
    messages.success(
        request,
        ngettext(
            "Merged “%(source)s” into “%(target)s”: %(count)s contact moved over; "
            "“%(source)s” is now an alias.",
            "Merged “%(source)s” into “%(target)s”: %(count)s contacts moved over; "
            "“%(source)s” is now an alias.",
            moved,
        )
        % {"source": source.label, "target": target.label, "count": moved},
    )
    return redirect(tenant_url(request, "tag_edit", target.pk))


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_tag_scheme)
def tag_delete(request, tag_id: int):
    tag = access_tag(request.membership, tag_id)
    held = tag_usage(tenant=request.tenant).get(tag.pk, 0)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        return _scheme_result(
            request,
            lambda: services.tag_delete(tag=tag, actor=request.membership),
            _("Tag “%(label)s” deleted.") % {"label": tag.label},
            tenant_url(request, "tag_settings"),
        )
    return render(request, "tagging/tag_delete.html", {"tag": tag, "held": held})


# --- rules and kinds of events (admins) -----------------------------------------------------


def _stage_labels(request) -> dict:
    return {k: s.display_label for k, s in stage_settings(tenant=request.tenant).items()}


@require_GET
@permission_required(can_edit_rules)
def rule_list_view(request):
    kinds = event_kinds(tenant=request.tenant)
    offered = rules.rules_defaults_offered(tenant=request.tenant)
    context = {
        "defaults_offered": [
            title_from_key({"kind": kind, "to": stage}, kinds, _stage_labels(request))
            for kind, stage in offered
        ],
        "defaults_all": len(offered) == len(DEFAULT_RULES),
        "rules": rule_list(tenant=request.tenant),
        "kind_labels": kinds,
        "builtin_kinds": BUILTIN_KINDS,
        "kind_form": EventKindForm(),
    }
    return render(request, "tagging/rule_list.html", context)


@require_POST
@permission_required(can_edit_rules)
def rules_add_defaults(request):
    added, skipped = rules.rules_add_defaults(tenant=request.tenant, actor=request.membership)
    kinds = event_kinds(tenant=request.tenant)
    if added:
        messages.success(
            request,
            ngettext("Added %(count)s default rule.", "Added %(count)s default rules.", len(added))
            % {"count": len(added)},
        )
    for kind in skipped:
        messages.info(
            request,
            _("Not added: you have a rule moving contacts on “%(kind)s” already.")
            % {"kind": kinds.get(kind, kind)},
        )
    return redirect(tenant_url(request, "rule_list"))


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_rules)
def rule_edit(request, rule_id: int | None = None):
    rule = access_rule(request.membership, rule_id) if rule_id else None
    initial = {"active": True}
    if rule is not None:
        initial = {"name": rule.name, "event_kind": rule.event_kind, "to_stage": rule.to_stage,
                   "add_tags": list(rule.add_tags.all()), "active": rule.active,
                   "remove_tags": list(rule.remove_tags.all())}  # fmt: skip
    form = RuleForm(
        request.POST or None,
        tenant=request.tenant,
        stage_labels=_stage_labels(request),
        initial=initial,
    )
    if request.method == "POST" and "delete" in request.POST and rule is not None:
        return _scheme_result(
            request,
            lambda: rules.rule_delete(rule=rule, actor=request.membership),
            _("Rule deleted."),
            tenant_url(request, "rule_list"),
        )
    if request.method == "POST" and form.is_valid():
        try:
            rules.rule_save(
                tenant=request.tenant, actor=request.membership, rule=rule, **form.cleaned_data
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Rule saved."))
            return redirect(tenant_url(request, "rule_list"))
    return render(request, "tagging/rule_form.html", {"rule": rule, "form": form})


@require_POST
@permission_required(can_edit_rules)
def event_kind_create(request):
    form = EventKindForm(request.POST)
    back = tenant_url(request, "rule_list")
    if not form.is_valid():
        return _form_errors(request, form, back)
    label = form.cleaned_data["label"]
    return _scheme_result(
        request,
        lambda: rules.event_kind_create(
            tenant=request.tenant, actor=request.membership, label=label
        ),
        _("Kind of event “%(label)s” added.") % {"label": label},
        back,
    )


def _kinds_back(request):
    return redirect(f"{tenant_url(request, 'rule_list')}#event-kinds")


@require_http_methods(["GET", "POST"])
@permission_required(can_edit_rules)
def event_kind_edit(request, kind: str):
    """A kind of event: its name (renamed here; the key underneath stays), what uses it, and
    removing it (one of the company's own, while nothing uses it)."""
    key = access_event_kind(request.membership, kind)
    builtin = str(BUILTIN_KINDS.get(key, ""))
    named = event_kind_names(tenant=request.tenant).get(key, "")
    form = EventKindRenameForm(request.POST or None, initial={"label": named},
                               builtin_name=builtin)  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            label = rules.event_kind_rename(tenant=request.tenant, actor=request.membership,
                                            key=key, label=form.cleaned_data["label"])  # fmt: skip
        except ServiceError as error:
            form.add_error("label", error.message)
        else:
            messages.success(request, _("Kind of event saved: “%(label)s”.") % {"label": label})
            return _kinds_back(request)
    events, rules_using = event_kind_usage(tenant=request.tenant, key=key)
    context = {"key": key, "label": event_kinds(tenant=request.tenant)[key], "form": form,
               "builtin": builtin, "events": events, "rules_using": rules_using}  # fmt: skip
    return render(request, "tagging/event_kind_edit.html", context)


@require_POST
@permission_required(can_edit_rules)
def event_kind_remove(request, kind: str):
    key = access_event_kind(request.membership, kind)
    try:
        label = rules.event_kind_remove(tenant=request.tenant, actor=request.membership, key=key)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(tenant_url(request, "event_kind_edit", key))
    messages.success(request, _("Kind of event “%(label)s” removed.") % {"label": label})
    return _kinds_back(request)


# --- merging duplicates by hand --------------------------------------------------------------
