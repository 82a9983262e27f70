"""Two records of one person become one, and nothing either of them held is lost."""

from django.urls import reverse

from crm.models import Contact
from lifecycle.models import StageChange
from lifecycle.services import contact_stage_move
from tagging.merges import contact_merge, likely_duplicates
from tagging.models import ContactMerge, ContactTag, Event
from tagging.services import contact_tag_add, event_log
from tests.factories import ContactFactory


def test_likely_duplicates_share_a_name_or_a_written_differently_channel(tenant, other_tenant):
    wang = ContactFactory(tenant=tenant, name="王芳", phone="13800138000", email="wf@qq.com")
    same_name = ContactFactory(tenant=tenant, name="王芳", phone="13900000000")
    same_phone_end = ContactFactory(tenant=tenant, name="Fang", phone="8613800138000")
    same_email_name = ContactFactory(tenant=tenant, name="F.W.", phone="", email="wf@163.com")
    ContactFactory(tenant=tenant, name="别人", phone="13711112222")
    ContactFactory(tenant=other_tenant, name="王芳", phone="13800138001")
    found = set(likely_duplicates(contact=wang))
    assert found == {same_name, same_phone_end, same_email_name}


def test_a_merge_keeps_chosen_fields_tags_events_history_and_the_furthest_stage(
    tenant, sales, make_tag
):
    kept = ContactFactory(tenant=tenant, name="王芳", phone="13800138000", company="")
    gone = ContactFactory(tenant=tenant, name="王芳(微信)", phone="", email="wf@qq.com",
                          wechat_id="wangfang", company="腾飞科技")  # fmt: skip
    contact_stage_move(contact=gone, actor=sales, to_stage="customer")
    contact_stage_move(contact=gone, actor=sales, to_stage="sql", reason="退款")
    spoken = make_tag("课程兴趣", "成人口语")
    contact_tag_add(contact=gone, tag=spoken, actor=sales)
    event_log(contact=gone, actor=sales, kind="trial_booked")

    result = contact_merge(survivor=kept, merged=gone, actor=sales, take_from_merged={"company"})

    assert not Contact.objects.for_tenant(tenant).filter(pk=gone.pk).exists()
    assert (result.name, result.phone, result.email, result.wechat_id, result.company) == (
        "王芳", "13800138000", "wf@qq.com", "wangfang", "腾飞科技",
    )  # fmt: skip
    assert result.stage == "sql" and result.furthest_stage == "customer"
    assert ContactTag.objects.for_tenant(tenant).get().contact_id == kept.pk
    assert Event.objects.for_tenant(tenant).get().contact_id == kept.pk
    moves = StageChange.objects.for_tenant(tenant).filter(contact=kept)
    assert moves.count() == 3  # the two of the merged contact, and the survivor's move to SQL
    audit = ContactMerge.objects.for_tenant(tenant).get()
    assert (audit.survivor, audit.merged_name, audit.actor) == (kept, "王芳(微信)", sales)
    assert audit.merged_data["company"] == "腾飞科技"


def test_merging_from_the_pages(sales_client, tenant):
    kept = ContactFactory(tenant=tenant, name="李娜", phone="13900000001")
    gone = ContactFactory(tenant=tenant, name="李娜", phone="", email="lina@qq.com")
    page = sales_client.get(reverse("contact_duplicates", args=[tenant.slug, kept.pk]))
    assert reverse("contact_merge", args=[tenant.slug, kept.pk, gone.pk]) in page.content.decode()
    response = sales_client.post(
        reverse("contact_merge", args=[tenant.slug, kept.pk, gone.pk]), {"name": "keep"},
        follow=True,
    )  # fmt: skip
    assert "was merged into" in response.content.decode()
    assert Contact.objects.for_tenant(tenant).get().email == "lina@qq.com"


def test_a_contact_cannot_be_merged_with_itself(sales_client, tenant):
    contact = ContactFactory(tenant=tenant)
    url = reverse("contact_merge", args=[tenant.slug, contact.pk, contact.pk])
    assert sales_client.get(url).status_code == 404
