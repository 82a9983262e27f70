"""A marketer who types a range the wrong way round (生日 from 2016-01-01 to 2015-01-01) means the
contacts between the two dates: the list and an audience find them, rather than no one."""

import pytest
from django.urls import reverse

from crm import customfields as cf
from crm.models import Contact, CustomField
from tests.factories import ContactFactory

Kind = CustomField.Kind


@pytest.fixture
def school(tenant, admin):
    birthday = cf.custom_field_create(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE)
    fee = cf.custom_field_create(tenant=tenant, actor=admin, label="学费", kind=Kind.MONEY)
    fields = cf.custom_fields_of(tenant=tenant)
    for name, given in [
        ("王小明", {birthday.key: "2015-03-04", fee.key: "9800"}),
        ("李小红", {birthday.key: "2016-07-01", fee.key: "800"}),
        ("张小军", {birthday.key: "2014-12-31"}),
        ("赵小花", {}),
    ]:
        custom = cf.values_clean(tenant=tenant, fields=fields, given=given)
        ContactFactory(tenant=tenant, name=name, custom=custom)
    return fields


def names_listed(client, tenant, query: str) -> list[str]:
    response = client.get(f"{reverse('contact_list', args=[tenant.slug])}?{query}")
    assert response.status_code == 200
    return sorted(row.name for row in response.context["page"].items)


@pytest.mark.parametrize("rare", [cf.RARE, 1], ids=["sought by ids", "walked in order"])
def test_a_range_typed_the_wrong_way_round_finds_the_contacts_between_its_ends(
    admin_client, tenant, school, rare, monkeypatch
):
    monkeypatch.setattr(cf, "RARE", rare)
    as_meant = names_listed(
        admin_client, tenant, "cf_sheng_ri__min=2015-01-01&cf_sheng_ri__max=2016-01-01"
    )
    backwards = names_listed(
        admin_client, tenant, "cf_sheng_ri__min=2016-01-01&cf_sheng_ri__max=2015-01-01"
    )
    assert as_meant == backwards == ["王小明"]
    assert names_listed(admin_client, tenant, "cf_xue_fei__min=10000&cf_xue_fei__max=500") == [
        "李小红", "王小明",
    ]  # fmt: skip


def test_a_backwards_range_is_applied_not_reported_as_a_condition_that_cannot_apply(tenant, school):
    conditions = [cf.CustomCondition("sheng_ri", "min", "2016-01-01"),
                  cf.CustomCondition("sheng_ri", "max", "2015年1月1日")]  # fmt: skip
    matched, ignored = cf.conditions_q(tenant=tenant, conditions=conditions, fields=school)
    assert ignored == []
    found = Contact.objects.for_tenant(tenant).filter(matched).values_list("name", flat=True)
    assert list(found) == ["王小明"]
