"""The demo school's own fields, as a training school adds them (issue 18): 生日 (a date),
校区 (which campus), 年级 (the learner's level) and 课程顾问 (the member who advises them),
filled on most of its contacts so the list's columns and filters have something to find."""

import random
from datetime import date, timedelta

from crm.customfields import custom_field_create
from crm.models import Contact, CustomField, Membership, Tenant
from lifecycle.stages import RANK

Kind = CustomField.Kind
CAMPUSES = ["徐汇校区", "浦东校区", "静安校区", "线上课堂"]
LEVELS = ["零基础", "初级", "中级", "高级", "商务英语"]
# (label, kind, options, help text)
FIELDS = [
    ("生日", Kind.DATE, [], "生日当月赠课一节"),
    ("校区", Kind.CHOICE, CAMPUSES, ""),
    ("年级", Kind.CHOICE, LEVELS, "入学测评的级别"),
    ("课程顾问", Kind.MEMBER, [], "跟进试听和报名的同事"),
]


def seed_custom_fields(tenant: Tenant, admin: Membership, advisors: list[Membership]) -> None:
    """Once per company: the four fields, then values on its contacts. Most people gave a
    campus, fewer a birthday; a level once they came to a trial; an advisor once they were
    qualified for sales (the values are written as the contact form writes them)."""
    if CustomField.objects.for_tenant(tenant).exists():
        return
    fields = {
        label: custom_field_create(
            tenant=tenant, actor=admin, label=label, kind=kind, options=options, help_text=hint
        )  # fmt: skip
        for label, kind, options, hint in FIELDS
    }
    rng = random.Random(f"funnel-demo-fields-{tenant.slug}")  # noqa: S311 - demo data
    contacts = list(Contact.objects.for_tenant(tenant).order_by("pk"))
    born_from, born_span = date(1975, 1, 1), (date(2012, 12, 31) - date(1975, 1, 1)).days
    for contact in contacts:
        custom = {}
        if rng.random() < 0.8:
            custom[fields["校区"].key] = rng.choices(CAMPUSES, weights=[4, 3, 2, 1])[0]
        if rng.random() < 0.6:
            born = born_from + timedelta(days=rng.randrange(born_span))
            custom[fields["生日"].key] = born.isoformat()
        if RANK[contact.furthest_stage] >= RANK["mql"] and rng.random() < 0.9:
            custom[fields["年级"].key] = rng.choice(LEVELS)
        if advisors and RANK[contact.furthest_stage] >= RANK["sql"]:
            custom[fields["课程顾问"].key] = (contact.owner or rng.choice(advisors)).pk
        contact.custom = custom
    # the value table follows by trigger (the custom_fields migration)
    Contact.objects.bulk_update(contacts, ["custom"], batch_size=500)
