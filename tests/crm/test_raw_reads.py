"""crm.rawreads: the hand-written reads of hot pages keep to one company and give the same
instances the ORM would."""

import pytest
from django.http import Http404

from crm.access import access_contact
from crm.rawreads import tenant_rows
from lifecycle.models import StageChange
from lifecycle.services import contact_stage_move
from tagging.models import Event
from tagging.rules import event_log
from tests.factories import ContactFactory


def test_rows_come_from_the_named_company_only(tenant, other_tenant, sales):
    ours = ContactFactory(tenant=tenant)
    theirs = ContactFactory(tenant=other_tenant)
    event_log(contact=theirs, actor=None, kind="price_list_downloaded")
    # another company's contact id, asked for as ours: nothing
    found = tenant_rows(Event, tenant_id=tenant.pk, where='"contact_id" = %s',
                        params=[theirs.pk], order_by='"id"')  # fmt: skip
    assert found == []
    event_log(contact=ours, actor=sales, kind="price_list_downloaded", note="公开课")
    (event,) = tenant_rows(Event, tenant_id=tenant.pk, where='"contact_id" = %s',
                           params=[ours.pk], order_by='"id"')  # fmt: skip
    orm = Event.objects.for_tenant(tenant).get(pk=event.pk)
    assert (event.note, event.kind, event.actor_id, event.occurred_at, event.outcome) == (
        orm.note,
        orm.kind,
        orm.actor_id,
        orm.occurred_at,
        orm.outcome,
    )
    assert isinstance(event.outcome, list)  # JSON converted as the ORM does


def test_stage_changes_read_by_hand_are_the_orms(tenant, sales):
    contact = ContactFactory(tenant=tenant, stage="subscriber")
    contact_stage_move(contact=contact, actor=sales, to_stage="lead")
    by_hand = tenant_rows(StageChange, tenant_id=tenant.pk, where='"contact_id" = %s',
                          params=[contact.pk], order_by='"created_at" DESC, "id" DESC')  # fmt: skip
    orm = list(StageChange.objects.for_tenant(tenant).filter(contact=contact)
               .order_by("-created_at", "-id"))  # fmt: skip
    assert [(c.pk, c.from_stage, c.to_stage, c.is_backward, c.get_channel_display())
            for c in by_hand] == [(c.pk, c.from_stage, c.to_stage, c.is_backward,
                                   c.get_channel_display()) for c in orm]  # fmt: skip


def test_a_contact_is_reached_with_its_owner_or_not_at_all(
    tenant, other_tenant, sales, django_assert_num_queries
):
    owned = ContactFactory(tenant=tenant, owner=sales)
    nobodys = ContactFactory(tenant=tenant, owner=None)
    theirs = ContactFactory(tenant=other_tenant)
    with django_assert_num_queries(1):
        contact = access_contact(sales, owned.pk)
        assert contact.owner.display_name == sales.user.display_name  # no further query
        assert contact.tenant is sales.tenant
    assert contact.name == owned.name and contact.stage_entered_at == owned.stage_entered_at
    assert access_contact(sales, str(nobodys.pk)).owner is None
    for wrong in (theirs.pk, 2**63, -(2**63) - 1, "x", None):
        with pytest.raises(Http404):
            access_contact(sales, wrong)
