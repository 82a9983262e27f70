"""王小雨, a customer the company knows well: fields, a custom field, a tag, a stage history, an
event, an activity, a task, two audiences and a frozen list, a merged duplicate and a tier."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from activities.services import activity_log, task_create
from audiences.services import audience_freeze, audience_recompute, audience_save
from crm.consent import consent_set
from crm.merges import contact_merge
from crm.models import CustomField
from grading.models import ContactGrade, Tier
from lifecycle.services import contact_stage_move
from tagging.models import Tag, TagGroup
from tagging.rules import event_log
from tagging.services import contact_tag_add
from tests.factories import ContactFactory

NAME, PHONE, EMAIL, WECHAT = "王小雨", "13912345678", "xiaoyu.wang@example.com", "xiaoyu_wx"


@pytest.fixture
def person(tenant, admin, sales):
    field = CustomField.objects.create(tenant=tenant, key="xiao_qu", label="校区", kind="text")
    contact = ContactFactory(
        tenant=tenant, name=NAME, phone=PHONE, email=EMAIL, wechat_id=WECHAT, weibo="xiaoyu",
        company="小雨科技", notes=f"{NAME}的妈妈说下周再联系", owner=sales,
        custom={field.key: "浦东"},
    )  # fmt: skip
    group = TagGroup.objects.create(tenant=tenant, key="interest", label="课程兴趣")
    tag = Tag.objects.create(tenant=tenant, group=group, key="spoken", label="成人口语",
                             label_key="成人口语")  # fmt: skip
    contact_tag_add(contact=contact, tag=tag, actor=sales)
    contact_stage_move(contact=contact, actor=sales, to_stage="mql", reason=f"{NAME}来电咨询")
    event_log(contact=contact, actor=sales, kind="payment_received", amount=Decimal("1200"),
              note=f"{NAME} 微信转账")  # fmt: skip
    activity_log(contact=contact, actor=sales, kind="call", text=f"和{NAME}通话，电话{PHONE}")
    task_create(contact=contact, actor=sales, title=f"回电{NAME}",
                due_at=timezone.now() + timedelta(days=1), assignee=sales)  # fmt: skip
    duplicate = ContactFactory(tenant=tenant, name=f"{NAME}（旧）", email="old.xiaoyu@example.com")
    contact_merge(survivor=contact, merged=duplicate, actor=admin, take_from_merged=set())
    consent_set(contact=contact, channel="sms", granted=True, actor=admin,
                note=f"{NAME}在门店口头同意")  # fmt: skip
    tier = Tier.objects.create(tenant=tenant, name="金卡", threshold=Decimal("1000"))
    now = timezone.now()
    ContactGrade.objects.create(tenant=tenant, contact=contact, tier=tier, paid=Decimal("1200"),
                                payments=1, status="active", status_since=now,
                                computed_at=now)  # fmt: skip
    spoken = audience_save(tenant=tenant, actor=admin, name="口语意向", gate="at_or_past",
                           stages=["mql"], tag_any=[tag.pk])  # fmt: skip
    everyone = audience_save(tenant=tenant, actor=admin, name="所有人", gate="at_or_past",
                             stages=["subscriber"])  # fmt: skip
    for audience in (spoken, everyone):
        audience_recompute(audience=audience)
    audience_freeze(audience=spoken, actor=admin, name="十二月优惠券")
    contact.refresh_from_db()
    return contact
