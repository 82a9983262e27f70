"""Demo data shaped like the seeds' example: an adult English-speaking school (英语口语培训班).

Deterministic and idempotent: the same rows every time, and a second run adds nothing.
"""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from audiences.models import Audience
from audiences.services import audience_recompute
from crm.hooks import tenant_setup
from crm.models import Contact, Membership, Role, Tenant, User
from crm.permissions import is_admin_role
from crm.scope import tenant_scope
from crm.sortkeys import name_sort_key
from crm.tenancy import membership_add
from demo.activities import seed_assignment_rule, seed_sales_activities
from demo.customfields import seed_custom_fields
from demo.grading import seed_grading
from demo.savedviews import seed_saved_views
from demo.tags import seed_activity, seed_tag_scheme
from lifecycle.analytics import (
    funnel_backfill_snapshots,
    funnel_recompute,
    funnel_stats_recompute,
)
from lifecycle.models import StageChange, StageSetting
from lifecycle.selectors import stage_settings
from lifecycle.services import stage_settings_save
from lifecycle.stages import ORDER, RANK, ChangeKind, Channel, LostReason, Status

DEMO_PASSWORD = "funnel-demo-2026"  # noqa: S105 - printed for the newcomer; demo only
SCHOOL = ("english-school", "英语口语培训班", "zh-hans")
STUDIO = ("design-studio", "小鹿设计工作室", "zh-hans")
PEOPLE = [
    # username, full name (family, given), role in the school, role in the studio
    ("wang", "王", "校长", Role.ADMIN, Role.ADMIN),
    ("li", "李", "营销", Role.MARKETER, None),
    ("zhao", "赵", "销售", Role.SALES, Role.SALES),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉婷雪琳晨浩宇欣"
    "怡梓涵子轩一诺思远佳琪博文雨萱俊杰诗涵"
)
COMPANIES = [
    "",
    "",
    "",
    "腾飞科技",
    "华润置地",
    "星辰教育",
    "蓝海贸易",
    "美团",
    "顺丰速运",
    "招商银行",
    "小米之家",
    "中信证券",
    "携程旅行",
    "海尔智家",
    "万科物业",
    "本地自由职业",
]
SOURCES = ["地推传单", "公众号", "朋友推荐", "官网表单", "抖音", "微信扫码", "线下公开课"]
CONTACTS_PER_TENANT = {"english-school": 2000, "design-studio": 40}
# Share of contacts whose furthest stage is each stage: a funnel, widest at the top.
FURTHEST_WEIGHTS = [34, 24, 16, 10, 6, 8, 2]
LOST_SHARE = 0.09
SCHOOL_STAGE_LABELS = [
    "01-围观",
    "02-潜客",
    "03-试听",
    "04-咨询",
    "05-待付费",
    "06-学员",
    "07-推荐官",
]
MOVE_REASONS_BACK = ["电话核实后意向不足", "重复登记，退回上一阶段", "预算推迟到下季度"]


class Command(BaseCommand):
    help = "Creates the demo companies, their members and contacts (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        now = timezone.now()
        for slug, name, language in (SCHOOL, STUDIO):
            tenant, _ = Tenant.objects.get_or_create(
                slug=slug, defaults={"name": name, "default_language": language}
            )
            with tenant_scope(tenant):  # each company's rows in its own scope
                members = self._members(tenant, slug == STUDIO[0])
                tenant_setup(tenant=tenant)
                if slug == SCHOOL[0]:
                    self._stage_labels(tenant, members[0])
                tags = seed_tag_scheme(tenant, members[0])
                added = self._contacts(tenant, members, CONTACTS_PER_TENANT[slug], now, tags)
                team = {m.role: m for m in members}  # the demo has one of each role at most
                sellers = [team[Role.SALES]] if Role.SALES in team else []
                seed_assignment_rule(tenant, members[0], sellers)
                seed_grading(tenant, members[0], now)
                if slug == SCHOOL[0]:  # a training school's own fields: 生日, 校区, 年级, 课程顾问
                    advisors = [m for m in members if not is_admin_role(m.role)]
                    seed_custom_fields(tenant, members[0], advisors)
                    # by tags and by the fields above
                    seed_saved_views(
                        tenant, marketer=team.get(Role.MARKETER), seller=team.get(Role.SALES)
                    )
            self.stdout.write(f"{name} (/t/{slug}/): {added} new contacts")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD}):"))
        for username, family, given, school_role, studio_role in PEOPLE:
            roles = f"{school_role} of {SCHOOL[1]}"
            if studio_role:
                roles += f", {studio_role} of {STUDIO[1]}"
            self.stdout.write(f"  {username:<6} {family}{given}  {roles}")

    def _members(self, tenant: Tenant, studio: bool) -> list[Membership]:
        members = []
        for username, family, given, school_role, studio_role in PEOPLE:
            role = studio_role if studio else school_role
            if role is None:
                continue
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, first_name=given, last_name=family)
                user.set_password(DEMO_PASSWORD)
                user.save()
            membership = Membership.objects.for_tenant(tenant).filter(user=user).first()
            if membership is None:
                membership, _ = membership_add(
                    tenant=tenant, actor=None, username=username, role=role
                )
            members.append(membership)
        return members

    def _stage_labels(self, tenant: Tenant, admin: Membership) -> None:
        """The school names its stages as the seed suggests ("01-围观", "02-潜客" …)."""
        if StageSetting.objects.for_tenant(tenant).exists():
            return
        current = stage_settings(tenant=tenant)
        stage_settings_save(
            tenant=tenant,
            actor=admin,
            rows={
                stage: {"label": label, "requirements": current[stage].requirements}
                for stage, label in zip(ORDER, SCHOOL_STAGE_LABELS, strict=True)
            },
        )

    def _contacts(self, tenant, members: list[Membership], count: int, now, tags) -> int:
        rng = random.Random(f"funnel-demo-{tenant.slug}")
        owners = [m for m in members if not is_admin_role(m.role)] + [None]
        movers = {m.role: m for m in members}
        rows, plans = [], {}
        for n in range(count):
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            phone = f"1{rng.choice('3578')}{rng.randint(0, 9)}{n:04d}{rng.randint(0, 9999):04d}"
            created = now - timedelta(days=rng.uniform(0, 180), minutes=n)
            plan = self._history(rng, created, now, movers)
            furthest = max((c["to_stage"] for c in plan), key=RANK.get, default=ORDER[0])
            moves = [c for c in plan if c["kind"] == ChangeKind.MOVED]
            lost = [c for c in plan if c["kind"] == ChangeKind.LOST]
            contact = Contact(
                tenant=tenant,
                name=name,
                name_sort=name_sort_key(name),  # bulk_create calls no save()
                phone=phone,
                email=f"{rng.randint(10**5, 10**10)}@qq.com" if rng.random() < 0.55 else "",
                wechat_id=f"wxid_{rng.getrandbits(40):x}" if rng.random() < 0.7 else "",
                company=rng.choice(COMPANIES),
                source=rng.choice(SOURCES),
                owner=rng.choice(owners),
                created_at=created,
                updated_at=plan[-1]["created_at"] if plan else created,
                # Created with its history at once: the funnel fields are set, not moved.
                stage=moves[-1]["to_stage"] if moves else ORDER[0],
                furthest_stage=furthest,
                stage_entered_at=moves[-1]["created_at"] if moves else created,
                stage_version=len(plan),
                status=Status.LOST if lost else Status.ACTIVE,
                lost_reason=lost[0]["lost_reason"] if lost else "",
                expected_amount=(
                    rng.choice([1980, 3680, 5800, 9800])
                    if RANK[furthest] >= RANK["opportunity"]
                    else None
                ),
            )
            rows.append(contact)
            plans[phone] = plan
        existing = set(Contact.objects.for_tenant(tenant).values_list("phone", flat=True))
        touched = {c.phone: c.updated_at for c in rows}
        # Phones are unique per tenant, so a second run's rows are all conflicts and skipped.
        Contact.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        new_ids = dict(
            Contact.objects.for_tenant(tenant)
            .exclude(phone__in=existing)
            .values_list("phone", "id")
        )
        # updated_at is auto_now, so bulk_create stamped "now": give it the last change's time.
        fresh_rows = list(Contact.objects.for_tenant(tenant).filter(pk__in=new_ids.values()))
        for contact in fresh_rows:
            contact.updated_at = touched[contact.phone]
        Contact.objects.bulk_update(fresh_rows, ["updated_at"], batch_size=500)
        StageChange.objects.bulk_create(
            [
                StageChange(tenant=tenant, contact_id=contact_id, **change)
                for phone, contact_id in new_ids.items()
                for change in plans[phone]
            ],
            batch_size=1000,
        )
        seed_activity(tenant, list(new_ids.values()), tags)
        seed_sales_activities(tenant, list(new_ids.values()), [m for m in owners if m])
        if new_ids:
            self._figures(tenant, members, tags)
        return len(new_ids)

    def _figures(self, tenant: Tenant, members: list[Membership], tags) -> None:
        """What the workers would have computed: counts, statistics, 30 days of trend, and an
        audience for the seed's coupon ("SQL and later, interested in spoken English")."""
        funnel_recompute(tenant=tenant)
        funnel_stats_recompute(tenant=tenant)
        funnel_backfill_snapshots(tenant=tenant, days=30)
        spoken = tags.get("成人口语")
        if spoken is not None and not Audience.objects.for_tenant(tenant).exists():
            audience = Audience.objects.create(
                tenant=tenant, name="优惠券：销售合格及以后 · 成人口语", gate="at_or_past",
                stages=["sql"], status="active", tag_any=[spoken.pk], created_by=members[0],
            )  # fmt: skip
            audience_recompute(audience=audience)

    def _history(self, rng, created, now, movers) -> list[dict]:
        """A plausible path down the funnel: forward steps (sometimes skipping one), now and
        then a correction back, and sometimes lost at the end."""
        target = rng.choices(range(len(ORDER)), weights=FURTHEST_WEIGHTS)[0]
        changes, at, stage = [], created, 0
        span = (now - created).total_seconds()
        while stage < target:
            step = 2 if stage + 2 <= target and rng.random() < 0.15 else 1
            at = at + timedelta(seconds=rng.uniform(0.05, 0.3) * (now - at).total_seconds())
            actor = movers.get(Role.MARKETER if stage + step <= RANK["mql"] else Role.SALES)
            changes.append(self._change(ORDER[stage], ORDER[stage + step], at, actor, ""))
            stage += step
        if stage >= 2 and rng.random() < 0.04:
            at = at + timedelta(seconds=rng.uniform(0.1, 0.3) * (now - at).total_seconds())
            back = ORDER[stage - 1]
            changes.append(
                self._change(
                    ORDER[stage], back, at, movers.get(Role.SALES), rng.choice(MOVE_REASONS_BACK)
                )
            )
            stage -= 1
        if rng.random() < LOST_SHARE and span > 86400:
            at = at + timedelta(seconds=rng.uniform(0.1, 0.5) * (now - at).total_seconds())
            reason = rng.choice(LostReason.values[:3])
            change = self._change(ORDER[stage], ORDER[stage], at, movers.get(Role.SALES), "")
            change.update(kind=ChangeKind.LOST, to_status=Status.LOST, lost_reason=reason)
            changes.append(change)
        return changes

    def _change(self, from_stage, to_stage, at, actor, reason) -> dict:
        return {
            "kind": ChangeKind.MOVED,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "from_status": Status.ACTIVE,
            "to_status": Status.ACTIVE,
            "actor": actor,
            "channel": Channel.UI,
            "reason": reason,
            "created_at": at,
        }
