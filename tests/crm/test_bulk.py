"""Set-based writes say which rows they wrote: callers never look them up again by time."""

from django.utils import timezone

from crm import bulk
from tagging.models import ContactTag, Tag, TagGroup, name_key
from tests.factories import ContactFactory

FIELDS = ["tenant_id", "contact_id", "tag_id", "channel", "added_by_id", "created_at"]


def make_tag(tenant, label: str) -> Tag:
    group, _ = TagGroup.objects.get_or_create(tenant=tenant, key="source", label="来源")
    return Tag.objects.create(tenant=tenant, group=group, key=label, label=label,
                              label_key=name_key(label))  # fmt: skip


def test_rows_a_unique_constraint_already_holds_are_left_out_and_not_reported(tenant):
    tag = make_tag(tenant, "地推")
    held, fresh = ContactFactory(tenant=tenant), ContactFactory(tenant=tenant)
    now = timezone.now()
    kept = ContactTag.objects.create(tenant=tenant, contact=held, tag=tag, channel="ui",
                                     created_at=now)  # fmt: skip
    written = bulk.insert_rows(
        ContactTag, FIELDS,
        [(tenant.pk, held.pk, tag.pk, "bulk", None, now),
         (tenant.pk, fresh.pk, tag.pk, "bulk", None, now)],
        ignore_conflicts=True, returning_ids=True,
    )  # fmt: skip
    new = ContactTag.objects.for_tenant(tenant).get(contact=fresh)
    assert written == [new.pk]
    assert ContactTag.objects.for_tenant(tenant).get(contact=held) == kept  # untouched


def test_new_rows_come_back_with_their_ids_in_order(tenant):
    tags = [make_tag(tenant, name) for name in ("地推", "公众号", "展会")]
    contact = ContactFactory(tenant=tenant)
    now = timezone.now()
    written = bulk.insert_rows(
        ContactTag, FIELDS, [(tenant.pk, contact.pk, t.pk, "import", None, now) for t in tags],
        returning_ids=True,
    )  # fmt: skip
    assert [ContactTag.objects.get(pk=pk).tag for pk in written] == tags
