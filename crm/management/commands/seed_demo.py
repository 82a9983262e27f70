"""Demo data shaped like the seeds' example: an adult English-speaking school (英语口语培训班).

Deterministic and idempotent: the same rows every time, and a second run adds nothing.
"""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.models import Contact, Membership, Role, Tenant, User
from crm.services import membership_add

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


class Command(BaseCommand):
    help = "Creates the demo companies, their members and contacts (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        now = timezone.now()
        for slug, name, language in (SCHOOL, STUDIO):
            tenant, _ = Tenant.objects.get_or_create(
                slug=slug, defaults={"name": name, "default_language": language}
            )
            members = self._members(tenant, slug == STUDIO[0])
            added = self._contacts(tenant, members, CONTACTS_PER_TENANT[slug], now)
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

    def _contacts(self, tenant: Tenant, members: list[Membership], count: int, now) -> int:
        rng = random.Random(f"funnel-demo-{tenant.slug}")
        owners = [m for m in members if m.role != Role.ADMIN] + [None]
        rows = []
        for n in range(count):
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            phone = f"1{rng.choice('3578')}{rng.randint(0, 9)}{n:04d}{rng.randint(0, 9999):04d}"
            created = now - timedelta(days=rng.uniform(0, 180), minutes=n)
            rows.append(
                Contact(
                    tenant=tenant,
                    name=name,
                    phone=phone,
                    email=f"{rng.randint(10**5, 10**10)}@qq.com" if rng.random() < 0.55 else "",
                    wechat_id=f"wxid_{rng.getrandbits(40):x}" if rng.random() < 0.7 else "",
                    company=rng.choice(COMPANIES),
                    source=rng.choice(SOURCES),
                    owner=rng.choice(owners),
                    created_at=created,
                    updated_at=created + timedelta(days=rng.uniform(0, (now - created).days + 0.5)),
                )
            )
        before = Contact.objects.for_tenant(tenant).count()
        # Phones are unique per tenant, so a second run's rows are all conflicts and skipped.
        Contact.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        return Contact.objects.for_tenant(tenant).count() - before
