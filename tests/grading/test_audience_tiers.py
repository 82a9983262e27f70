"""The coupon goes to 金卡 customers and up: an audience gated on a tier follows the grades, and
the tier it is built on cannot be deleted from under it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audiences.models import AudienceMember
from audiences.services import audience_recompute, audience_save
from crm.services import ServiceError
from grading.models import Tier
from grading.services import grades_recompute, tier_delete, tier_save
from tagging.models import Event
from tests.factories import ContactFactory


def customer(tenant, name, amount):
    contact = ContactFactory(tenant=tenant, name=name, stage="customer")
    Event.objects.create(tenant=tenant, contact=contact, kind="payment_received",
                         amount=Decimal(amount))  # fmt: skip
    return contact


def members(audience):
    return sorted(
        AudienceMember.objects.for_tenant(audience.tenant)
        .filter(audience=audience)
        .values_list("contact__name", flat=True)
    )


@pytest.fixture
def tiers(tenant, admin):
    return {
        name: tier_save(tenant=tenant, actor=admin, name=name, threshold=Decimal(amount))
        for name, amount in (("银卡", "1000"), ("金卡", "5000"), ("铂金", "20000"))
    }


def test_an_audience_of_gold_and_up_follows_what_customers_paid(tenant, marketer, tiers):
    customer(tenant, "银", "1200")
    customer(tenant, "金", "6000")
    customer(tenant, "铂", "25000")
    rising = customer(tenant, "升", "4000")
    grades_recompute(tenant=tenant)
    audience = audience_save(tenant=tenant, actor=marketer, name="金卡及以上优惠券",
                             gate="at_or_past", stages=["customer"],
                             tier_at_least=tiers["金卡"].pk)  # fmt: skip
    audience_recompute(audience=audience)
    assert members(audience) == ["金", "铂"]
    Event.objects.create(tenant=tenant, contact=rising, kind="payment_received",
                         amount=Decimal("1500"))  # fmt: skip
    grades_recompute(tenant=tenant)
    audience_recompute(audience=audience)
    assert members(audience) == ["升", "金", "铂"]


def test_another_companys_tier_is_refused(tenant, other_tenant, marketer, outsider):
    theirs = tier_save(tenant=other_tenant, actor=outsider, name="金卡", threshold=Decimal("1"))
    with pytest.raises(ServiceError, match="not one of this company"):
        audience_save(tenant=tenant, actor=marketer, name="偷看", gate="at_or_past",
                      stages=["customer"], tier_at_least=theirs.pk)  # fmt: skip


def test_a_tier_an_audience_is_built_on_cannot_be_deleted(tenant, admin, marketer, tiers):
    audience_save(tenant=tenant, actor=marketer, name="金卡及以上", gate="at_or_past",
                  stages=["customer"], tier_at_least=tiers["金卡"].pk)  # fmt: skip
    with pytest.raises(ServiceError, match="An audience is built on"):
        tier_delete(tier=tiers["金卡"], actor=admin)
    assert Tier.objects.for_tenant(tenant).filter(pk=tiers["金卡"].pk).exists()


def test_the_audience_form_offers_the_tiers(tenant, tiers, marketer_client):
    page = marketer_client.get(reverse("audience_create", args=[tenant.slug])).content.decode()
    assert "Tier at least" in page and "金卡" in page
