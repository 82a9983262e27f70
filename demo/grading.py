"""The demo company's tiers (普通/银卡/金卡/铂金, seed classification-layering-grading), the
repeat payments and visits that grade its customers, and the ones who went quiet."""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max

from crm.models import Contact, Membership, Tenant
from grading.models import PAYMENT_KIND, Tier
from grading.services import grades_recompute, tier_save
from lifecycle.stages import RANK
from tagging.models import Event

# name, paid at least (¥), entitlements, discount %, included sessions
TIERS = [
    ("普通", "1", "会员价购课", "0", 0),
    ("银卡", "5000", "生日当月赠课一节", "5", 1),
    ("金卡", "10000", "专属课程顾问 · 外教试听", "10", 2),
    ("铂金", "20000", "免费复训 · 优先排课", "15", 4),
]
PRICES = [1980, 3680, 5800, 9800]


def seed_grading(tenant: Tenant, admin: Membership, now: datetime) -> None:
    """Once per company: its tiers, then what its customers did since they first paid (some
    came back and paid again, some came to an event, some went quiet), then the grades."""
    if Tier.objects.for_tenant(tenant).exists():
        return
    for name, threshold, perks, off, sessions in TIERS:
        tier_save(tenant=tenant, actor=admin, name=name, threshold=Decimal(threshold),
                  entitlements=perks, discount_percent=Decimal(off),
                  included_sessions=sessions)  # fmt: skip
    rng = random.Random(f"funnel-demo-grading-{tenant.slug}")  # noqa: S311 - demo data
    customers = (
        Contact.objects.for_tenant(tenant)
        .filter(furthest_stage__in=[s for s, r in RANK.items() if r >= RANK["customer"]])
        .order_by("pk")
    )
    last_seen = {
        e["contact_id"]: e["last"]
        for e in Event.objects.for_tenant(tenant)
        .filter(contact__in=customers)
        .values("contact_id")
        .annotate(last=Max("occurred_at"))
    }
    events = []
    for customer in customers:
        last = last_seen.get(customer.pk) or customer.stage_entered_at
        if last < now - timedelta(days=60) and rng.random() < 0.7:
            continue  # gone quiet: at risk, or churned after 180 days
        for _ in range(rng.choice([0, 1, 1, 2, 3])):  # came back and paid again
            when = last + (now - last) * rng.uniform(0.2, 1)
            events.append(Event(tenant=tenant, contact=customer, kind=PAYMENT_KIND,
                                amount=Decimal(rng.choice(PRICES)), occurred_at=when,
                                actor=customer.owner, created_at=when))  # fmt: skip
        if rng.random() < 0.5:  # and came to an event lately
            when = now - timedelta(days=rng.uniform(1, 40))
            events.append(Event(tenant=tenant, contact=customer, kind="event_attended",
                                occurred_at=when, created_at=when))  # fmt: skip
    Event.objects.bulk_create(events, batch_size=1000)
    grades_recompute(tenant=tenant, now=now)
