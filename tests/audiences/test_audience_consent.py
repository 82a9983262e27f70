"""“仅限同意接收短信的联系人”: an audience requiring consent on a channel leaves out everyone
without a standing grant there, in its members, counts, page, frozen lists and exports."""

import csv
import io

import pytest
from django.urls import reverse

from audiences.models import Audience, AudienceMember, AudienceSnapshotMember
from audiences.services import audience_freeze, audience_recompute, audience_save
from crm.consent import consent_grant, consent_withdraw
from crm.services import ServiceError
from tests.factories import ContactFactory


def members(audience) -> list[str]:
    return sorted(
        AudienceMember.objects.for_tenant(audience.tenant)
        .filter(audience=audience)
        .values_list("contact__name", flat=True)
    )


@pytest.fixture
def three_people(tenant, marketer):
    """甲 agreed to SMS; 乙 agreed, then withdrew; 丙 was never asked (unknown)."""
    agreed = ContactFactory(tenant=tenant, name="甲", stage="sql")
    withdrew = ContactFactory(tenant=tenant, name="乙", stage="sql")
    ContactFactory(tenant=tenant, name="丙", stage="sql")
    consent_grant(contact=agreed, channel="sms", actor=marketer)
    consent_grant(contact=withdrew, channel="sms", actor=marketer)
    consent_withdraw(contact=withdrew, channel="sms", actor=marketer)
    consent_grant(contact=withdrew, channel="email", actor=marketer)  # another channel: no help
    return agreed, withdrew


def test_an_sms_audience_leaves_out_the_withdrawn_and_the_unknown(tenant, marketer, three_people):
    audience = audience_save(tenant=tenant, actor=marketer, name="短信优惠", gate="at_or_past",
                             stages=["sql"], consent_channel="sms")  # fmt: skip
    audience_recompute(audience=audience)
    assert members(audience) == ["甲"] and audience.size == 1
    anyone = audience_save(tenant=tenant, actor=marketer, name="所有SQL", gate="at_or_past",
                           stages=["sql"])  # fmt: skip
    audience_recompute(audience=anyone)
    assert members(anyone) == ["丙", "乙", "甲"]


def test_a_withdrawal_takes_them_out_at_the_next_recompute_after_commit(
    tenant, marketer, sales, three_people, django_capture_on_commit_callbacks
):
    agreed, _withdrew = three_people
    with django_capture_on_commit_callbacks(execute=True):
        audience = audience_save(
            tenant=tenant, actor=marketer, name="短信优惠", gate="at_or_past", stages=["sql"],
            consent_channel="sms",
        )  # fmt: skip
    assert members(audience) == ["甲"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        consent_withdraw(contact=agreed, channel="sms", actor=sales)  # 甲 replied 退订
    assert callbacks  # the recompute was enqueued after commit
    assert members(audience) == []
    assert Audience.objects.for_tenant(tenant).get(pk=audience.pk).size == 0


def test_page_api_frozen_list_and_export_leave_out_a_withdrawal_not_yet_recomputed(
    admin_client, tenant, admin, marketer, three_people
):
    agreed, _withdrew = three_people
    keeps = ContactFactory(tenant=tenant, name="丁", stage="sql")
    consent_grant(contact=keeps, channel="sms", actor=marketer)
    audience = audience_save(tenant=tenant, actor=marketer, name="短信优惠", gate="at_or_past",
                             stages=["sql"], consent_channel="sms")  # fmt: skip
    audience_recompute(audience=audience)
    frozen_before = audience_freeze(audience=audience, actor=marketer, name="十一月短信")
    # 甲 withdraws; no recompute has run yet (no worker in this test)
    consent_withdraw(contact=agreed, channel="sms", actor=admin)
    assert members(audience) == ["丁", "甲"]  # the stored members, until the recompute
    page = admin_client.get(reverse("audience_detail", args=[tenant.slug, audience.pk]))
    text = page.content.decode()
    assert "Only contacts who agreed to SMS" in text
    # the members' table: 丁, not 甲 (who still shows among those who joined last time)
    assert f'{keeps.pk}/">丁</a></td>' in text and f'{agreed.pk}/">甲</a></td>' not in text
    frozen = audience_freeze(audience=audience, actor=marketer, name="十二月短信")
    kept = AudienceSnapshotMember.objects.for_tenant(tenant).filter(snapshot=frozen)
    assert list(kept.values_list("contact__name", flat=True)) == ["丁"] and frozen.size == 1
    for url in (reverse("audience_export", args=[tenant.slug, audience.pk]),
                reverse("snapshot_export", args=[tenant.slug, frozen_before.pk])):  # fmt: skip
        body = b"".join(admin_client.get(url).streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[0][-1] == "Agreed to SMS on"  # the file says which channel
        assert [row[0] for row in rows[1:]] == ["丁"]
        assert rows[1][-1].startswith(str(keeps.created_at.year))


def test_the_form_offers_the_channels_and_keeps_the_choice(marketer_client, tenant):
    form = marketer_client.get(reverse("audience_create", args=[tenant.slug])).content.decode()
    assert "Only contacts who agreed to SMS" in form and "Only contacts who agreed to email" in form
    response = marketer_client.post(
        reverse("audience_create", args=[tenant.slug]),
        {"name": "微信推送", "gate": "at_or_past", "stages": ["lead"], "status": "active",
         "consent_channel": "wechat"},
    )  # fmt: skip
    assert response.status_code == 302
    audience = Audience.objects.for_tenant(tenant).get(name="微信推送")
    assert audience.consent_channel == "wechat"
    edit = marketer_client.get(reverse("audience_edit", args=[tenant.slug, audience.pk]))
    assert '<option value="wechat" selected>' in edit.content.decode()


def test_an_unknown_channel_is_refused(tenant, marketer):
    with pytest.raises(ServiceError):
        audience_save(tenant=tenant, actor=marketer, name="x", gate="exact", stages=["sql"],
                      consent_channel="fax")  # fmt: skip
    assert not Audience.objects.for_tenant(tenant).exists()
