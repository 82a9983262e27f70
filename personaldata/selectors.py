"""Everything the company holds about one contact, part by part: what an access request
answers, as JSON and as a page. Each part is a list of rows of plain values (stages, statuses
and channels in the reader's words), so the JSON and the page say the same."""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, Task
from audiences.models import AudienceMember, AudienceSnapshotMember
from crm.customfields import custom_fields_cached, value_display
from crm.models import Consent, ConsentChannel, ConsentSource, Contact, ContactMerge, Membership
from grading.models import ContactGrade, GradeChange
from lifecycle.models import StageChange
from lifecycle.selectors import stage_settings
from lifecycle.stages import ChangeKind, Channel, LostReason, Status
from tagging.models import ContactTag, Event, TagRemoval


@dataclass(frozen=True, slots=True)
class Part:
    key: str  # the JSON's name for it
    title: str
    rows: list[dict]


# The columns' names on the page (the JSON keeps the keys).
COLUMNS = {
    "id": _("ID"),
    "name": _("Name"),
    "email": _("Email"),
    "phone": _("Phone"),
    "wechat_id": _("WeChat ID"),
    "weibo": _("Weibo"),
    "company": _("Company"),
    "source": _("Source"),
    "notes": _("Notes"),
    "owner": _("Owner"),
    "expected_amount": _("Expected amount"),
    "stage": _("Stage"),
    "status": _("Status"),
    "lost_reason": _("Lost reason"),
    "lost_note": _("Lost note"),
    "furthest_stage": _("Furthest stage"),
    "stage_entered_at": _("In this stage since"),
    "created_at": _("Created"),
    "updated_at": _("Updated"),
    "erased_at": _("Erased"),
    "key": _("Key"),
    "field": _("Field"),
    "value": _("Value"),
    "group": _("Group"),
    "tag": _("Tag"),
    "added_at": _("Added"),
    "added_by": _("Added by"),
    "channel": _("Channel"),
    "removed_at": _("Removed"),
    "removed_by": _("Removed by"),
    "at": _("When"),
    "kind": _("Kind"),
    "from_stage": _("From stage"),
    "to_stage": _("To stage"),
    "actor": _("Who"),
    "reason": _("Reason"),
    "amount": _("Amount"),
    "note": _("Note"),
    "text": _("What was said or done"),
    "outcome": _("Outcome"),
    "author": _("Author"),
    "title": _("What to do"),
    "due_at": _("Due"),
    "assignee": _("For"),
    "done_at": _("Done at"),
    "audience": _("Audience"),
    "joined_at": _("Joined"),
    "list": _("Frozen list"),
    "merged_name": _("Merged contact"),
    "merged_data": _("What it held"),
    "tier": _("Tier"),
    "paid": _("Paid"),
    "payments": _("Payments"),
    "last_payment_at": _("Last payment"),
    "last_seen_at": _("Last seen"),
    "what": _("What changed"),
    "from_value": _("Before"),
    "to_value": _("After"),
    "granted": _("Granted"),
}


def _who(member: Membership | None) -> str:
    return member.display_name if member is not None else ""


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def contact_personal_data(*, contact: Contact) -> list[Part]:
    """Every part held about `contact` (of its company: the caller reached it through
    access_contact), oldest first within a part."""
    tenant = contact.tenant
    stages = {key: s.display_label for key, s in stage_settings(tenant=tenant).items()}
    owner = contact.owner if contact.owner_id else None
    fields = {
        "id": contact.pk,
        **{name: getattr(contact, name) for name in (
            "name", "email", "phone", "wechat_id", "weibo", "company", "source", "notes")},
        "owner": _who(owner),
        "expected_amount": contact.expected_amount,
        "stage": stages.get(contact.stage, contact.stage),
        "status": _label(Status, contact.status),
        "lost_reason": _label(LostReason, contact.lost_reason),
        "lost_note": contact.lost_note,
        "furthest_stage": stages.get(contact.furthest_stage, contact.furthest_stage),
        "stage_entered_at": contact.stage_entered_at,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }  # fmt: skip
    if getattr(contact, "erased_at", None) is not None:
        fields["erased_at"] = contact.erased_at
    values = contact.custom or {}
    custom_fields = [f for f in custom_fields_cached(tenant=tenant) if f.key in values]
    names = {}
    if custom_fields:
        names = {m.pk: m.display_name
                 for m in Membership.objects.for_tenant(tenant).select_related("user")}  # fmt: skip
    custom = [
        {"key": f.key, "field": f.label,
         "value": value_display(f, values[f.key], member_names=names)}
        for f in custom_fields
    ]  # fmt: skip
    tags = [
        {"group": a.tag.group.label, "tag": a.tag.label, "added_at": a.created_at,
         "added_by": _who(a.added_by), "channel": _label(Channel, a.channel)}
        for a in ContactTag.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("tag__group", "added_by__user").order_by("created_at", "pk")
    ]  # fmt: skip
    tags_removed = [
        {"tag": r.label, "added_at": r.added_at, "removed_at": r.removed_at,
         "removed_by": _who(r.removed_by), "channel": _label(Channel, r.channel)}
        for r in TagRemoval.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("removed_by__user").order_by("removed_at", "pk")
    ]  # fmt: skip
    history = [
        {"at": c.created_at, "kind": _label(ChangeKind, c.kind),
         "from_stage": stages.get(c.from_stage, c.from_stage), "to_stage": stages[c.to_stage],
         "status": _label(Status, c.to_status), "actor": _who(c.actor) or c.actor_label,
         "channel": _label(Channel, c.channel), "reason": c.reason,
         "lost_reason": _label(LostReason, c.lost_reason), "merged_name": c.merged_from_name}
        for c in StageChange.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("actor__user").order_by("created_at", "pk")
    ]  # fmt: skip
    events = [
        {"at": e.occurred_at, "kind": e.kind, "amount": e.amount, "note": e.note,
         "actor": _who(e.actor), "channel": _label(Channel, e.channel)}
        for e in Event.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("actor__user").order_by("occurred_at", "pk")
    ]  # fmt: skip
    activities = [
        {"at": a.occurred_at, "kind": a.get_kind_display(), "text": a.text,
         "outcome": a.outcome, "author": _who(a.author)}
        for a in Activity.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("author__user").order_by("occurred_at", "pk")
    ]  # fmt: skip
    tasks = [
        {"title": t.title, "due_at": t.due_at, "assignee": _who(t.assignee),
         "done_at": t.done_at, "created_at": t.created_at}
        for t in Task.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("assignee__user").order_by("due_at", "pk")
    ]  # fmt: skip
    consent = [
        {"at": c.at, "channel": _label(ConsentChannel, c.channel), "granted": c.granted,
         "source": _label(ConsentSource, c.source), "actor": _who(c.actor) or c.actor_label,
         "note": c.note}
        for c in Consent.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("actor__user").order_by("at", "pk")
    ]  # fmt: skip
    audiences = [
        {"id": m.audience_id, "audience": m.audience.name, "joined_at": m.joined_at}
        for m in AudienceMember.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("audience").order_by("audience__name", "pk")
    ]  # fmt: skip
    frozen = [
        {"id": m.snapshot_id, "list": m.snapshot.name, "created_at": m.snapshot.created_at}
        for m in AudienceSnapshotMember.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("snapshot").order_by("snapshot__created_at", "pk")
    ]  # fmt: skip
    merges = [
        {"at": m.created_at, "merged_name": m.merged_name, "merged_data": m.merged_data,
         "actor": _who(m.actor)}
        for m in ContactMerge.objects.for_tenant(tenant).filter(survivor=contact)
        .select_related("actor__user").order_by("created_at", "pk")
    ]  # fmt: skip
    grades = [
        {"tier": g.tier.name if g.tier_id else "", "status": g.get_status_display(),
         "paid": g.paid, "payments": g.payments, "last_payment_at": g.last_payment_at,
         "last_seen_at": g.last_seen_at}
        for g in ContactGrade.objects.for_tenant(tenant).filter(contact=contact)
        .select_related("tier")
    ]  # fmt: skip
    grade_changes = [
        {"at": g.created_at, "what": g.get_what_display(), "from_value": g.from_value,
         "to_value": g.to_value, "paid": g.paid}
        for g in GradeChange.objects.for_tenant(tenant).filter(contact=contact)
        .order_by("created_at", "pk")
    ]  # fmt: skip
    return [
        Part("contact", _("Fields"), [fields]),
        Part("custom_fields", _("Custom fields"), custom),
        Part("tags", _("Tags"), tags),
        Part("tags_removed", _("Tags taken off"), tags_removed),
        Part("stage_history", _("Stage history"), history),
        Part("events", _("Events"), events),
        Part("activities", _("Activities"), activities),
        Part("tasks", _("Tasks"), tasks),
        Part("consent", _("Consent"), consent),
        Part("audiences", _("Audiences"), audiences),
        Part("frozen_lists", _("Frozen lists"), frozen),
        Part("merges", _("Contacts merged into this one"), merges),
        Part("grade", _("Tier and activity status"), grades),
        Part("grade_changes", _("Tier and status changes"), grade_changes),
    ]


def personal_data_document(*, contact: Contact, parts: list[Part]) -> dict:
    """The JSON an access request answers with."""
    return {
        "company": contact.tenant.name,
        "contact_id": contact.pk,
        "exported_at": timezone.now(),
        **{part.key: part.rows for part in parts},
    }
