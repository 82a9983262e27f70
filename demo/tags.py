"""Demo tags and behaviour for seed_demo: the seeds' tag scheme, and events that explain how
the demo contacts moved down the funnel. Deterministic, and only for contacts just created."""

import random

from crm.models import Contact, Membership, Tenant
from lifecycle.models import StageChange
from lifecycle.stages import RANK, ChangeKind, Channel
from tagging.models import ContactTag, Event, Rule, Tag, TagAlias, TagGroup, name_key
from tagging.outcomes import RuleOutcome, rule_title_key, stored_rule_title
from tagging.rules import rule_save

# group label, colour, one at a time, tags, {alias: tag}
SCHEME = [
    ("来源", "#2e90fa", False, ["地推传单", "公众号", "朋友推荐", "官网表单", "抖音", "微信扫码",
                                "线下公开课"], {"传单": "地推传单", "转介绍": "朋友推荐"}),
    ("意向", "#f79009", True, ["高意向", "中意向", "低意向"], {"潜客": "中意向"}),
    ("课程兴趣", "#7a5af8", False, ["成人口语", "商务英语", "雅思备考"], {"口语": "成人口语"}),
    ("行业", "#12b76a", False, ["互联网", "金融", "教育", "零售", "制造业"], {"教培": "教育"}),
    ("活动", "#667085", False, ["活动参与者"], {}),
]  # fmt: skip
STAGE_EVENT = {
    "lead": "form_submitted",
    "mql": "price_list_downloaded",
    "sql": "consultation_call",
    "opportunity": "payment_intent",
    "customer": "payment_received",
    "evangelist": "referral_joined",
}


def seed_tag_scheme(tenant: Tenant, admin: Membership) -> dict[str, Tag]:
    if not TagGroup.objects.for_tenant(tenant).exists():
        for position, (label, colour, single, tags, aliases) in enumerate(SCHEME):
            group = TagGroup.objects.create(
                tenant=tenant, key=label, label=label, colour=colour, single_choice=single,
                position=position,
            )  # fmt: skip
            made = {  # in the scheme's order: 高意向, 中意向, 低意向
                t: Tag.objects.create(
                    tenant=tenant,
                    group=group,
                    key=t,
                    label=t,
                    label_key=name_key(t),
                    position=place,
                )  # fmt: skip
                for place, t in enumerate(tags)
            }
            for alias, tag in aliases.items():
                TagAlias.objects.create(
                    tenant=tenant, tag=made[tag], name=alias, name_key=name_key(alias)
                )
        attended = Tag.objects.for_tenant(tenant).get(label="活动参与者")
        rule_save(tenant=tenant, actor=admin, name="参加活动 → 活动参与者",
                  event_kind="event_attended", add_tags=[attended])  # fmt: skip
    return {t.label: t for t in Tag.objects.for_tenant(tenant)}


def seed_activity(tenant: Tenant, contact_ids: list[int], tags: dict[str, Tag]) -> None:
    """Events behind most forward moves (recorded as the rule's doing), and tags that fit."""
    rng = random.Random(f"funnel-demo-activity-{tenant.slug}")
    rules = {r.event_kind: r for r in Rule.objects.for_tenant(tenant).exclude(to_stage="")}
    attended_rule = Rule.objects.for_tenant(tenant).filter(event_kind="event_attended").first()
    # Recorded as the rules service records a rule's doing: the same title, the same outcome.
    titles = {r.pk: stored_rule_title(r, tenant) for r in [*rules.values(), attended_rule] if r}
    changes = (
        StageChange.objects.for_tenant(tenant)
        .filter(contact_id__in=contact_ids, kind=ChangeKind.MOVED, channel=Channel.UI)
        .order_by("contact_id", "created_at")
    )
    events, by_rule = [], []
    for change in changes:
        kind = STAGE_EVENT.get(change.to_stage)
        rule = rules.get(kind)
        forward = RANK[change.to_stage] > RANK[change.from_stage]
        if not (forward and rule and rng.random() < 0.75):
            continue
        amount = rng.choice([1980, 3680, 5800, 9800]) if kind.startswith("payment") else None
        title_key = rule_title_key(rule)  # a built-in rule: named in the reader's words
        outcome = RuleOutcome(rule_id=rule.pk, name=titles[rule.pk], title_key=title_key)
        outcome.moved(rule.to_stage)
        events.append(
            Event(
                tenant=tenant,
                contact_id=change.contact_id,
                kind=kind,
                amount=amount,
                occurred_at=change.created_at,
                actor=change.actor,
                channel=Channel.UI,
                outcome=[outcome.stored()],
                created_at=change.created_at,
            )  # fmt: skip
        )
        change.channel, change.actor_label, change.actor = Channel.RULE, outcome.name, None
        change.rule_kind = rule.event_kind if title_key else ""
        by_rule.append(change)
    fields = ["channel", "actor", "actor_label", "rule_kind"]
    StageChange.objects.bulk_update(by_rule, fields, 1000)

    assignments = []
    contacts = Contact.objects.for_tenant(tenant).filter(pk__in=contact_ids).order_by("pk")
    for contact in contacts:
        chosen = [tags.get(contact.source)]
        rank = RANK[contact.furthest_stage]
        if rank >= RANK["mql"]:
            chosen.append(tags["高意向"] if rank >= RANK["sql"] else tags["中意向"])
        elif rng.random() < 0.3:
            chosen.append(tags["低意向"])
        if rng.random() < 0.6:
            chosen.append(tags[rng.choice(["成人口语", "成人口语", "商务英语", "雅思备考"])])
        if contact.company and rng.random() < 0.5:
            chosen.append(tags[rng.choice(["互联网", "金融", "教育", "零售", "制造业"])])
        if attended_rule and rng.random() < 0.15:
            events.append(
                Event(
                    tenant=tenant,
                    contact=contact,
                    kind="event_attended",
                    occurred_at=contact.created_at,
                    channel=Channel.UI,
                    outcome=[
                        RuleOutcome(rule_id=attended_rule.pk, name=titles[attended_rule.pk])
                        .tagged(tags["活动参与者"].label)
                        .stored()
                    ],
                    created_at=contact.created_at,
                )  # fmt: skip
            )
            chosen.append(tags["活动参与者"])
        for tag in filter(None, chosen):
            channel = Channel.RULE if tag.label == "活动参与者" else Channel.UI
            assignments.append(
                ContactTag(
                    tenant=tenant,
                    contact=contact,
                    tag=tag,
                    channel=channel,
                    rule=attended_rule if channel == Channel.RULE else None,
                    created_at=contact.created_at,
                )  # fmt: skip
            )
    Event.objects.bulk_create(events, batch_size=1000)
    ContactTag.objects.bulk_create(assignments, batch_size=1000, ignore_conflicts=True)
