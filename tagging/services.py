"""Writes for tags, events and rules. Keyword-only, atomic, taking domain objects."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import bulk
from crm.audit import audit_record
from crm.hooks import change_recorded, tags_merging
from crm.models import AuditKind, Contact, Membership, Tenant, Undo
from crm.permissions import can_edit_tag_scheme
from crm.selectors import contacts_scoped
from crm.services import ServiceError
from lifecycle.scheduling import tenant_changed
from lifecycle.stages import Channel

from .models import (
    ContactTag,
    Event,
    Rule,
    Tag,
    TagAlias,
    TagGroup,
    name_key,
    unique_key,
)
from .selectors import tag_merge_clash, tag_position_last, tag_resolve


def capability_required(actor: Membership | None, capability: Callable, message: str) -> None:
    """`actor` None: the system (a rule, an import, a command), which may."""
    if actor is not None and not capability(actor):
        raise ServiceError(message)


def _require_scheme_editor(actor: Membership | None) -> None:
    capability_required(
        actor, can_edit_tag_scheme, _("Only admins and marketers may change the tags.")
    )


def _lock_names(tenant: Tenant) -> None:
    """Serialises tag naming in a tenant: labels and aliases are unique across both tables."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()


def _check_name_free(tenant: Tenant, name: str, *, except_tag: Tag | None = None) -> str:
    key = name_key(name)
    if not key:
        raise ServiceError(_("A tag needs a name."))
    if len(key) > 60:
        raise ServiceError(_("A tag name has at most 60 characters."))
    taken = tag_resolve(tenant=tenant, name=name)
    if taken is not None and taken != except_tag:
        raise ServiceError(
            _("“%(name)s” is already the name or an alias of the tag “%(tag)s”.")
            % {"name": " ".join(name.split()), "tag": taken.label}
        )
    return key


def fields_checked(obj) -> None:
    try:
        obj.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc


# --- the tag scheme -----------------------------------------------------------------------


@transaction.atomic
def tag_group_save(
    *,
    tenant: Tenant,
    actor: Membership | None,
    group: TagGroup | None = None,
    label: str,
    description: str = "",
    colour: str = "#667085",
    single_choice: bool = False,
) -> TagGroup:
    _require_scheme_editor(actor)
    label = " ".join((label or "").split())
    if not label:
        raise ServiceError(_("A tag group needs a name."))
    clash = TagGroup.objects.for_tenant(tenant).filter(label=label)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise ServiceError(_("There is already a tag group “%(label)s”.") % {"label": label})
    if group is not None and single_choice and not group.single_choice:
        several = _contacts_with_several(tenant, group)
        if several:
            raise ServiceError(
                _(
                    "%(count)s contacts hold more than one tag of “%(group)s”: leave only one "
                    "on each before making it one-at-a-time."
                )
                % {"count": several, "group": group.label}
            )
    if group is None:
        groups = TagGroup.objects.for_tenant(tenant)
        group = TagGroup(tenant=tenant, position=groups.count(), key=unique_key(groups, label))
    group.label, group.description, group.colour = label, description.strip(), colour
    group.single_choice = single_choice
    fields_checked(group)
    group.save()
    return group


@transaction.atomic
def tag_group_delete(*, group: TagGroup, actor: Membership | None) -> None:
    _require_scheme_editor(actor)
    if Tag.objects.for_tenant(group.tenant).filter(group=group).exists():
        raise ServiceError(_("Move or delete the group's tags first."))
    group.delete()


@transaction.atomic
def tag_create(
    *,
    tenant: Tenant,
    actor: Membership | None,
    group: TagGroup,
    label: str,
    colour: str = "",
    description: str = "",
) -> Tag:
    _require_scheme_editor(actor)
    if group.tenant_id != tenant.pk:
        raise ServiceError(_("Choose a group of this company."))
    _lock_names(tenant)
    key = _check_name_free(tenant, label)
    tag = Tag(tenant=tenant, group=group, label=" ".join(label.split()), label_key=key,
              key=unique_key(Tag.objects.for_tenant(tenant), label), colour=colour,
              description=description.strip(),
              position=tag_position_last(group=group))  # fmt: skip
    fields_checked(tag)
    tag.save()
    return tag


@transaction.atomic
def tag_update(
    *,
    tag: Tag,
    actor: Membership | None,
    label: str,
    group: TagGroup,
    colour: str = "",
    description: str = "",
) -> Tag:
    _require_scheme_editor(actor)
    if group.tenant_id != tag.tenant_id:
        raise ServiceError(_("Choose a group of this company."))
    _lock_names(tag.tenant)
    tag.label_key = _check_name_free(tag.tenant, label, except_tag=tag)
    if group.pk != tag.group_id:  # moved to another group: last there
        tag.position = tag_position_last(group=group)
    tag.label, tag.group, tag.colour = " ".join(label.split()), group, colour
    tag.description = description.strip()
    fields_checked(tag)
    tag.save()
    return tag


def _group_tags_locked(group: TagGroup) -> list[Tag]:
    """The group's tags in their order, locked: two admins ordering it take turns."""
    return list(
        Tag.objects.for_tenant(group.tenant)
        .filter(group=group)
        .select_for_update()
        .order_by("position", "label", "pk")
    )


def _place(tags: list[Tag]) -> None:
    for position, tag in enumerate(tags):
        tag.position = position
    Tag.objects.bulk_update(tags, ["position"])


@transaction.atomic
def tag_move(*, tag: Tag, actor: Membership | None, up: bool) -> bool:
    """Moves a tag one place up or down in its group (the settings page's buttons). False
    when it is first (or last) already."""
    _require_scheme_editor(actor)
    tags = _group_tags_locked(tag.group)
    at = next(i for i, t in enumerate(tags) if t.pk == tag.pk)
    to = at - 1 if up else at + 1
    if not 0 <= to < len(tags):
        return False
    tags[at], tags[to] = tags[to], tags[at]
    _place(tags)
    return True


@transaction.atomic
def tag_group_order(
    *, group: TagGroup, actor: Membership | None, tag_ids: list[int], seen: list[int] | None = None
) -> None:
    """Puts the group's tags in this order (the settings page's drag and drop): every tag of
    the group, each once, or nothing changes. `seen`: the order the page showed before the drag;
    if someone has reordered the group since, nothing changes (their order is not undone)."""
    _require_scheme_editor(actor)
    locked = _group_tags_locked(group)
    tags = {tag.pk: tag for tag in locked}
    stale = seen is not None and seen != [tag.pk for tag in locked]
    if stale or len(tag_ids) != len(set(tag_ids)) or set(tag_ids) != set(tags):
        raise ServiceError(
            _("The tags of “%(group)s” changed meanwhile: reload the page and try again.")
            % {"group": group.label}
        )
    _place([tags[pk] for pk in tag_ids])


@transaction.atomic
def tag_alias_add(*, tag: Tag, actor: Membership | None, name: str) -> TagAlias:
    _require_scheme_editor(actor)
    _lock_names(tag.tenant)
    key = _check_name_free(tag.tenant, name)
    return TagAlias.objects.create(
        tenant=tag.tenant, tag=tag, name=" ".join(name.split()), name_key=key
    )


@transaction.atomic
def tag_alias_remove(*, alias: TagAlias, actor: Membership | None) -> None:
    _require_scheme_editor(actor)
    alias.delete()


@transaction.atomic
def tag_merge(*, source: Tag, target: Tag, actor: Membership | None) -> int:
    """Folds `source` into `target`: its contacts get `target` (nothing lost), its name and
    aliases become aliases of `target`, rules and audiences that used it use `target`. Returns
    contacts moved."""
    _require_scheme_editor(actor)
    if source == target:
        raise ServiceError(_("Choose another tag to merge into."))
    if source.tenant_id != target.tenant_id:
        raise ServiceError(_("Choose a tag of this company."))
    tenant = source.tenant
    _lock_names(tenant)
    assignments = ContactTag.objects.for_tenant(tenant)
    # Nothing may be lost: a contact holding `source` and another tag of target's one-at-a-time
    # group would have to lose one of them.
    clash = tag_merge_clash(source=source, target=target)
    if clash:
        raise ServiceError(
            _(
                "%(count)s contacts with “%(source)s” also hold another tag of "
                "“%(group)s”, which keeps one tag at a time: merging would remove one. "
                "Nothing was changed."
            )
            % {"count": clash, "source": source.label, "group": target.group.label}
        )
    already = assignments.filter(tag=target).values("contact_id")
    moved = assignments.filter(tag=source).exclude(contact_id__in=already).update(tag=target)
    assignments.filter(tag=source).delete()
    for rule in Rule.objects.for_tenant(tenant).filter(add_tags=source):
        rule.add_tags.remove(source)
        rule.add_tags.add(target)
    for rule in Rule.objects.for_tenant(tenant).filter(remove_tags=source):
        rule.remove_tags.remove(source)
        rule.remove_tags.add(target)
    TagAlias.objects.for_tenant(tenant).filter(tag=source).update(tag=target)
    tags_merging(source=source, target=target)  # the audiences naming it name `target`
    label, key = source.label, source.label_key
    tenant_changed(tenant.pk, funnel=False)
    source.delete()
    TagAlias.objects.create(tenant=tenant, tag=target, name=label, name_key=key)
    return moved


def _contacts_with_several(tenant: Tenant, group: TagGroup) -> int:
    """How many contacts hold more than one tag of `group`."""
    return (
        ContactTag.objects.for_tenant(tenant)
        .filter(tag__group=group)
        .values("contact_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


@transaction.atomic
def tag_delete(*, tag: Tag, actor: Membership | None) -> int:
    """Deletes a tag and its assignments. Returns how many contacts held it."""
    _require_scheme_editor(actor)
    held = assignments_remove(
        ContactTag.objects.for_tenant(tag.tenant).filter(tag=tag), actor=actor, channel=Channel.UI
    )
    tenant_changed(tag.tenant_id, funnel=False)
    tag.delete()
    return held


# --- tags on contacts --------------------------------------------------------------------


# The assignments taken off, each remembered with who put it on and who took it off, in one
# statement: what is remembered is exactly what was deleted, whoever else deletes meanwhile.
UNTAG = """
WITH gone AS (
    DELETE FROM tagging_contacttag ct WHERE ct.id IN ({ids}) RETURNING ct.*
)
INSERT INTO tagging_tagremoval (tenant_id, contact_id, tag_id, label, added_by_id, added_channel,
                                added_at, removed_by_id, channel, removed_at)
SELECT gone.tenant_id, gone.contact_id, gone.tag_id, t.label, gone.added_by_id, gone.channel,
       gone.created_at, %s, %s, %s
FROM gone JOIN tagging_tag t ON t.id = gone.tag_id AND t.tenant_id = gone.tenant_id
"""
# The same, each assignment also kept whole for an undo (TagUndoRow), with its removal's id.
UNTAG_UNDOABLE = """
WITH gone AS (
    DELETE FROM tagging_contacttag ct WHERE ct.id IN ({ids}) RETURNING ct.*
), remembered AS (
    INSERT INTO tagging_tagremoval (tenant_id, contact_id, tag_id, label, added_by_id,
                                    added_channel, added_at, removed_by_id, channel, removed_at)
    SELECT gone.tenant_id, gone.contact_id, gone.tag_id, t.label, gone.added_by_id, gone.channel,
           gone.created_at, %s, %s, %s
    FROM gone JOIN tagging_tag t ON t.id = gone.tag_id AND t.tenant_id = gone.tenant_id
    RETURNING id, contact_id, tag_id
)
INSERT INTO tagging_tagundorow (tenant_id, undo_id, added, assignment_id, contact_id, tag_id,
                                channel, added_by_id, rule_id, added_at, removal_id)
SELECT gone.tenant_id, %s, false, gone.id, gone.contact_id, gone.tag_id, gone.channel,
       gone.added_by_id, gone.rule_id, gone.created_at, remembered.id
FROM gone JOIN remembered ON remembered.contact_id = gone.contact_id
                         AND remembered.tag_id = gone.tag_id
"""


def assignments_remove(
    assignments: QuerySet, *, actor: Membership | None, channel: str, undo: Undo | None = None
) -> int:
    """Takes `assignments` (ContactTag rows, already scoped to a company) off their contacts,
    remembering each for the contacts' history (and, with `undo`, for the member to put back:
    tagging.undo). Returns how many were taken off."""
    ids_sql, params = assignments.values("pk").query.sql_with_params()
    actor_id = actor.pk if actor is not None else None
    sql, kept = (UNTAG, []) if undo is None else (UNTAG_UNDOABLE, [undo.pk])
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=ids_sql), [*params, actor_id, channel, timezone.now(), *kept])
        return cursor.rowcount


# The assignments an action put on, kept for the member to take off again (tagging.undo).
KEEP_ADDED = """
INSERT INTO tagging_tagundorow (tenant_id, undo_id, added, assignment_id, contact_id, tag_id,
                                channel)
SELECT tenant_id, %s, true, id, contact_id, tag_id, channel FROM tagging_contacttag
WHERE tenant_id = %s AND id = ANY(%s)
"""


def _keep_added(undo: Undo, ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(KEEP_ADDED, [undo.pk, undo.tenant_id, ids])


@dataclass
class TagAdded:
    added: bool
    replaced: list[str]  # labels of the one-at-a-time group's tag it took the place of

    def __bool__(self) -> bool:
        return self.added


@transaction.atomic
def contact_tag_add(
    *,
    contact: Contact,
    tag: Tag,
    actor: Membership | None,
    channel: str = Channel.UI,
    rule: Rule | None = None,
) -> TagAdded:
    """Puts a tag on a contact (replacing its group's other tag when the group keeps one at a
    time). False-y when the contact already had it."""
    if tag.tenant_id != contact.tenant_id:
        raise ServiceError(_("Choose a tag of this company."))
    tenant = contact.tenant
    held = ContactTag.objects.for_tenant(tenant).filter(contact=contact)
    if held.filter(tag=tag).exists():
        return TagAdded(False, [])
    replaced = []
    if tag.group.single_choice:
        others = held.filter(tag__group_id=tag.group_id)
        replaced = list(others.values_list("tag__label", flat=True))
        assignments_remove(others, actor=actor, channel=channel)
    try:
        with transaction.atomic():
            assignment = ContactTag.objects.create(
                tenant=tenant, contact=contact, tag=tag, channel=channel, added_by=actor, rule=rule
            )
    except IntegrityError:
        return TagAdded(False, [])  # added at that moment by someone else: the contact has it
    _tagged(tenant, ContactTag.objects.for_tenant(tenant).filter(pk=assignment.pk))
    tenant_changed(tenant.pk, funnel=False)
    return TagAdded(True, replaced)


def _tagged(tenant: Tenant, assignments: QuerySet) -> None:
    change_recorded(
        tenant=tenant,
        event="contact.tagged",
        rows=assignments.values_list("contact_id", "tag_id", "created_at"),
    )


@transaction.atomic
def contact_tag_remove(
    *,
    contact: Contact,
    tag: Tag,
    actor: Membership | None,
    channel: str = Channel.UI,
    undo: Undo | None = None,
) -> bool:
    assignments = ContactTag.objects.for_tenant(contact.tenant).filter(contact=contact, tag=tag)
    deleted = assignments_remove(assignments, actor=actor, channel=channel, undo=undo)
    if deleted:
        tenant_changed(contact.tenant_id, funnel=False)
    return bool(deleted)


@transaction.atomic
def contacts_bulk_tag(
    *,
    tenant: Tenant,
    actor: Membership | None,
    contacts: QuerySet | Iterable[int],
    tag: Tag,
    add: bool,
    channel: str = Channel.BULK,
    undo: Undo | None = None,
) -> int:
    """Adds or removes one tag on many contacts, set-based. Returns how many changed. With
    `undo`, what changed is kept for the member to undo (tagging.undo)."""
    if tag.tenant_id != tenant.pk:
        raise ServiceError(_("Choose a tag of this company."))
    scope = contacts_scoped(tenant=tenant, contacts=contacts)
    assignments = ContactTag.objects.for_tenant(tenant)
    tenant_changed(tenant.pk, funnel=False)
    if not add:
        deleted = assignments_remove(
            assignments.filter(tag=tag, contact_id__in=scope.values("pk")),
            actor=actor, channel=channel, undo=undo,
        )  # fmt: skip
        audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_TAG, subject=tag.label,
                     count=deleted, details={"tag": tag.pk, "add": False})  # fmt: skip
        return deleted
    missing = scope.exclude(pk__in=assignments.filter(tag=tag).values("contact_id"))
    ids = list(missing.values_list("pk", flat=True))
    if tag.group.single_choice:
        assignments_remove(
            assignments.filter(contact_id__in=ids, tag__group_id=tag.group_id),
            actor=actor, channel=channel, undo=undo,
        )  # fmt: skip
    now = timezone.now()
    actor_id = actor.pk if actor is not None else None
    # the ids of the rows written (someone may have tagged a few of them a moment ago)
    written = bulk.insert_rows(
        ContactTag,
        ["tenant_id", "contact_id", "tag_id", "channel", "added_by_id", "created_at"],
        [(tenant.pk, pk, tag.pk, channel, actor_id, now) for pk in ids],
        ignore_conflicts=True,
        returning_ids=True,
    )
    if written:
        _tagged(tenant, assignments.filter(pk__any=written))
        if undo is not None:
            _keep_added(undo, written)
    audit_record(tenant=tenant, actor=actor, kind=AuditKind.BULK_TAG, subject=tag.label,
                 count=len(written), details={"tag": tag.pk, "add": True})  # fmt: skip
    return len(written)


def contact_tags_merged(*, survivor: Contact, merged: Contact, actor: Membership | None) -> None:
    """A merge (crm.merges, inside its transaction): the merged contact's tags and events move to
    the one that stays. A tag the survivor holds already, or a second tag of a one-at-a-time group
    it holds one of, stays behind and goes with the merged contact."""
    tenant = survivor.tenant
    tags = ContactTag.objects.for_tenant(tenant)
    held = tags.filter(contact=survivor).values("tag_id")
    held_groups = tags.filter(contact=survivor, tag__group__single_choice=True).values(
        "tag__group_id"
    )
    tags.filter(contact=merged).exclude(tag_id__in=held).exclude(
        tag__group_id__in=held_groups
    ).update(contact=survivor)
    Event.objects.for_tenant(tenant).filter(contact=merged).update(contact=survivor)
