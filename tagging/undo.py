"""Tag actions a member may undo for a short while (crm/undo.py): a tag taken off a contact, and
a tag added to or taken off many at once. Undoing takes off exactly the assignments the action
put on and puts back exactly those it took off, as they were (their ids, who added them, how,
when) and without the removals the contacts' history kept of them: as if it had not happened.
Only when each still stands as the action left it; otherwise nothing changes."""

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from crm.models import Contact, Membership, Tenant, Undo
from crm.services import ServiceError
from crm.undo import (
    BULK_TAG,
    TAG_REMOVE,
    ChangedSince,
    undo_close,
    undo_counted,
    undo_open,
    undo_take,
)
from lifecycle.scheduling import tenant_changed

from . import services
from .models import ContactTag, Tag, TagRemoval, TagUndoRow

TAG_KINDS = (TAG_REMOVE, BULK_TAG)
SAMPLE = 5  # contacts named when an undo is refused


@transaction.atomic
def contact_tag_remove_undoable(*, contact: Contact, tag: Tag, actor: Membership) -> Undo | None:
    """contact_tag_remove, which its member may undo: the Undo, or None if nothing was removed."""
    details = {"tag": tag.pk, "label": tag.label, "contact": contact.pk}
    undo = undo_open(tenant=contact.tenant, actor=actor, kind=TAG_REMOVE, details=details)
    removed = services.contact_tag_remove(contact=contact, tag=tag, actor=actor, undo=undo)
    return undo_counted(undo, int(removed))


@transaction.atomic
def contacts_bulk_tag_undoable(
    *, tenant: Tenant, actor: Membership, contacts, tag: Tag, add: bool
) -> tuple[int, Undo | None]:
    """contacts_bulk_tag, which its member may undo: how many changed, and the Undo."""
    undo = undo_open(tenant=tenant, actor=actor, kind=BULK_TAG,
                     details={"tag": tag.pk, "label": tag.label, "add": add})  # fmt: skip
    changed = services.contacts_bulk_tag(
        tenant=tenant, actor=actor, contacts=contacts, tag=tag, add=add, undo=undo
    )
    return changed, undo_counted(undo, changed)


# The assignments taken off, put back as they were (a rule deleted since is no longer named).
PUT_BACK = """
INSERT INTO tagging_contacttag (id, tenant_id, contact_id, tag_id, channel, added_by_id, rule_id,
                                created_at)
SELECT r.assignment_id, r.tenant_id, r.contact_id, r.tag_id, r.channel, r.added_by_id, rule.id,
       r.added_at
FROM tagging_tagundorow r
LEFT JOIN tagging_rule rule ON rule.id = r.rule_id AND rule.tenant_id = r.tenant_id
WHERE r.tenant_id = %s AND r.undo_id = %s AND NOT r.added
ON CONFLICT DO NOTHING
"""


def _changed_since(tenant: Tenant, rows: QuerySet) -> QuerySet:
    """The rows of the undo that no longer stand as the action left them."""
    assignments = ContactTag.objects.for_tenant(tenant)
    added = rows.filter(added=True)
    still_on = assignments.filter(
        pk=OuterRef("assignment_id"), contact_id=OuterRef("contact_id"), tag_id=OuterRef("tag_id")
    )
    # a tag to put back cannot be: its contact or tag went, the contact holds it again, or holds
    # another tag of its one-at-a-time group that this undo does not take off
    held_again = assignments.filter(contact_id=OuterRef("contact_id"), tag_id=OuterRef("tag_id"))
    group_taken = (
        assignments.filter(contact_id=OuterRef("contact_id"), tag__group__single_choice=True,
                           tag__group__tags=OuterRef("tag_id"))
        .exclude(tag_id=OuterRef("tag_id"))
        .exclude(pk__in=added.values("assignment_id"))
    )  # fmt: skip
    contact_there = Contact.objects.for_tenant(tenant).filter(pk=OuterRef("contact_id"))
    tag_there = Tag.objects.for_tenant(tenant).filter(pk=OuterRef("tag_id"))
    gone = added.filter(~Exists(still_on))
    blocked = rows.filter(added=False).filter(
        ~Exists(contact_there) | ~Exists(tag_there) | Exists(held_again) | Exists(group_taken)
    )
    return gone | blocked


@transaction.atomic
def tags_undo(*, undo: Undo, actor: Membership) -> Undo:
    """Undoes `undo`'s tag action. Returns the Undo (its kind, details and count say what was
    undone); raises ServiceError, with nothing changed, when it may not be undone or some of
    it changed since."""
    undo = undo_take(undo=undo, actor=actor)
    if undo.kind not in TAG_KINDS:
        raise ServiceError(_("This cannot be undone here."))
    tenant = undo.tenant
    rows = TagUndoRow.objects.for_tenant(tenant).filter(undo=undo)
    contacts = Contact.objects.for_tenant(tenant)
    # Their contacts locked, in id order: no undo or merge of theirs runs beside this one.
    len(contacts.filter(pk__in=rows.values("contact_id")).order_by("pk").select_for_update()
        .values_list("pk", flat=True))  # fmt: skip
    changed = _changed_since(tenant, rows)
    if changed.exists():
        ids = set(changed.values_list("contact_id", flat=True))
        names = contacts.filter(pk__in=ids).order_by("name_sort", "id")
        raise ChangedSince(len(ids), list(names.values_list("name", flat=True)[:SAMPLE]))
    added = rows.filter(added=True)
    ContactTag.objects.for_tenant(tenant).filter(pk__in=added.values("assignment_id")).delete()
    removed = rows.filter(added=False)
    expected = removed.count()
    with connection.cursor() as cursor:
        cursor.execute(PUT_BACK, [tenant.pk, undo.pk])
        put_back = cursor.rowcount
    if put_back != expected:  # tagged again a moment ago, by someone else: keep theirs
        raise ChangedSince(expected - put_back, [])
    TagRemoval.objects.for_tenant(tenant).filter(pk__in=removed.values("removal_id")).delete()
    tenant_changed(tenant.pk, funnel=False)
    rows.delete()
    undo_close(undo, actor=actor, subject=undo.details.get("label", ""), count=undo.count)
    return undo
