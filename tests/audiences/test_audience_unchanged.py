"""An audience recomputed when nothing about the company changed reads no contact: its members
stand. A change it may not have seen — even one still being written while it read — always
brings the next recompute back to work. Real commits: each service call is its own transaction."""

from unittest import mock

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.models import Audience, AudienceMember
from audiences.services import audience_recompute, audience_save, audiences_recompute
from crm.services import ContactData, contact_create
from lifecycle import scheduling
from lifecycle.models import TenantChanged
from lifecycle.services import contact_stage_move
from tagging.models import Tag, TagGroup
from tagging.services import contact_tag_add
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def spoken(tenant):
    group = TagGroup.objects.create(tenant=tenant, key="interest", label="课程兴趣")
    return Tag.objects.create(tenant=tenant, group=group, key="spoken", label="成人口语",
                              label_key="成人口语")  # fmt: skip


@pytest.fixture
def coupon(tenant, marketer, spoken):
    """“SQL and later, tagged 成人口语”, computed once (after its save committed)."""
    return audience_save(tenant=tenant, actor=marketer, name="优惠券", gate="at_or_past",
                         stages=["sql"], tag_any=[spoken.pk])  # fmt: skip


def members(audience):
    return set(
        AudienceMember.objects.for_tenant(audience.tenant)
        .filter(audience=audience)
        .values_list("contact__name", flat=True)
    )


def test_a_recompute_with_nothing_changed_reads_no_contact(tenant, coupon, sales, spoken):
    person = ContactFactory(tenant=tenant, name="王芳", stage="mql")
    contact_stage_move(contact=person, actor=sales, to_stage="sql")
    contact_tag_add(contact=person, tag=spoken, actor=sales)
    assert members(coupon) == {"王芳"}  # each committed change was recomputed after it

    with CaptureQueriesContext(connection) as queries:
        assert audience_recompute(audience=Audience.objects.get(pk=coupon.pk)) == (0, 0)

    read = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("crm_contact", "tagging_contacttag", "lifecycle_audiencemember"):
        assert table not in read
    assert Audience.objects.get(pk=coupon.pk).computed_at > person.created_at


def test_every_committed_change_is_seen_by_the_next_recompute(tenant, coupon, sales, spoken):
    contact = contact_create(tenant=tenant, actor=sales, data=ContactData(name="李雷"))
    contact_tag_add(contact=contact, tag=spoken, actor=sales)
    assert members(coupon) == set()
    contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    assert members(coupon) == {"李雷"}


def test_an_edited_definition_is_computed_afresh(tenant, coupon, marketer, spoken):
    ContactFactory(tenant=tenant, name="早就是MQL", stage="mql")  # written around the services
    audience_save(tenant=tenant, actor=marketer, audience=Audience.objects.get(pk=coupon.pk),
                  name="优惠券", gate="exact", stages=["mql"])  # fmt: skip
    assert members(coupon) == {"早就是MQL"}


def test_a_change_still_being_written_while_the_audience_read_is_seen_next_time(
    tenant, coupon, spoken
):
    person = ContactFactory(tenant=tenant, name="韩梅梅", stage="sql")
    audience_recompute(audience=Audience.objects.get(pk=coupon.pk))
    # Another connection tags her (as a bulk tag would) and has not committed yet...
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute(
            "INSERT INTO tagging_contacttag (tenant_id, contact_id, tag_id, channel, created_at) "
            "VALUES (%s, %s, %s, 'bulk', %s)",
            [tenant.pk, person.pk, spoken.pk, timezone.now()],
        )
        other.execute(
            "INSERT INTO lifecycle_tenantchanged (tenant_id, xid) "
            "VALUES (%s, pg_current_xact_id()::text::bigint)",
            [tenant.pk],
        )
        # ...while the audience is recomputed: her tag is not visible yet
        assert audience_recompute(audience=Audience.objects.get(pk=coupon.pk)) == (0, 0)
        assert members(coupon) == set()
    # committed now: the next recompute must not take the company for unchanged
    assert audience_recompute(audience=Audience.objects.get(pk=coupon.pk)) == (1, 0)
    assert members(coupon) == {"韩梅梅"}


def test_changes_every_audience_has_seen_are_forgotten(tenant, coupon, sales, spoken):
    person = ContactFactory(tenant=tenant, name="张伟", stage="sql")
    with mock.patch.object(scheduling, "schedule_recomputes"):  # the worker is down
        contact_tag_add(contact=person, tag=spoken, actor=sales)
    assert TenantChanged.objects.for_tenant(tenant).exists()

    audiences_recompute(tenant=tenant)  # the worker is back

    assert members(coupon) == {"张伟"}
    assert not TenantChanged.objects.for_tenant(tenant).exists()
    assert audience_recompute(audience=Audience.objects.get(pk=coupon.pk)) == (0, 0)


def test_a_change_made_after_a_recompute_in_the_same_transaction_is_read_next_time(
    tenant, coupon, sales, spoken
):
    person = ContactFactory(tenant=tenant, name="林涛", stage="sql")
    with transaction.atomic():
        ContactFactory(tenant=tenant)  # this transaction has its id now...
        with psycopg.connect(**connection.get_connection_params()) as other:
            other.execute("SELECT pg_current_xact_id()")  # ...and a later one commits first
        audience_recompute(audience=Audience.objects.get(pk=coupon.pk))
        contact_tag_add(contact=person, tag=spoken, actor=sales)
        assert audience_recompute(audience=Audience.objects.get(pk=coupon.pk)) == (1, 0)
