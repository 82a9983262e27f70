"""Benchmark contains-search at size: the big bench company (600,000 contacts among make bench's
1,000,000; one in twenty with a company, given the first time) searched as the contact list
searches, by a role like the application's under row-level security, against the bare SQL that
reads the same first page as the superuser from the same indexes, in one statement. Terms: a
fragment of a name, of a company (a rare one and one of 600 matches), the phone's last four
digits, and fragments too common to fetch by id (the list then walks its order). Run by make
bench."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench.management.commands.bench_funnel import (
    APP_ROLE,
    acting_as,
    app_role_prepare,
    bench_tenant,
    cpu_spread,
    current_role,
    judged,
)
from bench.timing import alternating, times_itself
from crm.models import Contact
from crm.pagination import keyset_page
from crm.scope import tenant_scope
from crm.selectors import (
    CONTACT_ROW_FIELDS,
    CONTACT_SORTS,
    DEFAULT_CONTACT_SORT,
    ContactFilters,
    contact_ids_containing,
    contact_list_rows,
)

ROUNDS = 21
# ours ÷ bare. Ours is the ORM and four statements to the bare one (the index's function, the
# tag a term may name by label, by alias, then the page), each a round trip: 4–10× on this
# 2-core machine under the other benches' load, where the list without a search is 2–4× its
# bare query. A search that missed its index would read the whole company: 200× and more.
TARGET = 15.0
# (what, term, how the bare SQL finds it)
TERMS = [
    ("no search (the list's own floor)", "", "none"),
    ("name fragment", "户12345", "text"),
    ("company fragment, rare", "杭州星辰", "text"),
    ("company fragment, 600 matches", "星辰", "text"),
    ("phone's last digits", "尾号 9371", "tail"),
    ("too common to fetch by id", "有限公司", "walk"),
    ("in every contact's name", "客户", "walk"),
]

CITIES = (
    "北京 上海 广州 深圳 杭州 南京 成都 武汉 西安 苏州 天津 重庆 长沙 "
    "郑州 青岛 厦门 宁波 合肥 福州 昆明"
)
NAMES = (
    "星辰 远航 华信 鼎盛 恒通 嘉禾 瑞丰 金诚 宏图 博远 腾飞 安泰 明德 "
    "新元 众合 天成 汇丰 永信 卓越 中科 东方 富达 盛世 万家 凯旋 锦程 "
    "百川 融通 顺达 聚源 海纳 祥和 创新 启航 飞扬 同心 智汇 优品 长青 "
    "佳美 和谐 至诚 润泽 森林 光明 朝阳 银河 金石 宝利 德胜"
)
TRADES = "科技 贸易 教育 餐饮 文化 咨询"
# the k-th company: 20 cities × 50 names × 6 trades; k = the contact's number ÷ 20
COMPANY_OF_K = (
    "(string_to_array(%(cities)s, ' '))[1 + k %% 20]"
    " || (string_to_array(%(names)s, ' '))[1 + (k / 20) %% 50]"
    " || (string_to_array(%(trades)s, ' '))[1 + (k / 1000) %% 6] || '有限公司'"
)

# the first page as the list shows it, newest first: one statement each
ROWS = ", ".join(f"c.{field}" for field in CONTACT_ROW_FIELDS)
ORDER = "ORDER BY c.created_at DESC, c.id DESC LIMIT %(size)s"
BARE = {
    "none": f"SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s {ORDER}",  # noqa: S608
    # the grams index, as the superuser may seek it directly
    "text": f"""SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s AND c.id IN (
        SELECT x.contact_id FROM crm_contacttext x WHERE x.tenant_id = %(t)s
           AND crm_text_grams(x.tenant_id, x.body) @> crm_text_grams(%(t)s, crm_fold(%(q)s))
           AND strpos(x.body, crm_fold(%(q)s)) > 0) {ORDER}""",  # noqa: S608 - ours
    "tail": f"""SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s
        AND starts_with(c.phone_tail, %(tail)s) {ORDER}""",  # noqa: S608 - ours
    # the list's order, each row's text read until the page is full
    "walk": f"""SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s
        AND strpos(crm_contact_text(c.name, c.company, c.email, c.wechat_id, c.notes),
                   crm_fold(%(q)s)) > 0 {ORDER}""",  # noqa: S608 - ours
}


def companies_given(tenant, say) -> None:
    """One contact in twenty gets a company (杭州星辰贸易有限公司 …), set-based, the first time."""
    if Contact.objects.for_tenant(tenant).exclude(company="").exists():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE crm_contact SET company = {COMPANY_OF_K}
            FROM (SELECT id, substr(name, 3)::int / 20 AS k FROM crm_contact
                  WHERE tenant_id = %(t)s AND substr(name, 3)::int %% 20 = 0) AS picked
            WHERE crm_contact.id = picked.id""",  # noqa: S608 - constants of ours
            {"t": tenant.pk, "cities": CITIES, "names": NAMES, "trades": TRADES},
        )
        given = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE crm_contact")
        cursor.execute("VACUUM ANALYZE crm_contacttext")
    say(f"  companies given: {given:,}")


class Command(BaseCommand):
    help = "Benchmarks contains-search at 600,000 contacts against its bare SQL (PostgreSQL)."

    def handle(self, *args, **options):
        big, admin = bench_tenant(0, 600_000, say=self.stdout.write)
        companies_given(big, self.stdout.write)
        app_role_prepare()
        size = settings.CONTACTS_PAGE_SIZE
        ordering = CONTACT_SORTS[DEFAULT_CONTACT_SORT]
        big_n = Contact.objects.for_tenant(big).count()
        self.stdout.write(
            f"Contains-search, first page of {size}, {big_n:,} contacts in the company; ours as "
            f"{APP_ROLE} (row-level security), bare as the superuser, {ROUNDS} runs in turn:"
        )
        missed: list[str] = []
        for what, term, how in TERMS:
            params = {"t": big.pk, "q": term, "tail": term[-4:][::-1], "size": size}

            def ours_page(term=term) -> list[int]:
                rows = contact_list_rows(tenant=big, filters=ContactFilters(q=term), viewer=admin)
                page = keyset_page(rows, ordering=ordering, size=size)
                return [row["id"] for row in page.items]

            def bare_page(how=how, params=params) -> list[int]:
                with connection.cursor() as cursor:
                    cursor.execute(BARE[how], params)  # noqa: S608 - constants of ours
                    return [row[0] for row in cursor.fetchall()]

            @times_itself
            def ours() -> float:
                # as a request is: its role and company set before, and not timed
                with acting_as(APP_ROLE), tenant_scope(big):
                    start = time.perf_counter()
                    ours_page()
                    return time.perf_counter() - start

            with acting_as(APP_ROLE), tenant_scope(big):
                shown = ours_page()
                ids = contact_ids_containing(tenant=big, term=term) if term else []
            if shown != bare_page():
                raise CommandError(f"{what}: ours and the bare SQL found different pages")
            found = "too many: walked" if ids is None else f"{len(ids):,} by the index"
            found = found if term else "none"
            runs = alternating({"bare": bare_page, "ours": ours}, ROUNDS)
            ratio, verdict = judged(f"search {what}", runs["ours"], runs["bare"], TARGET, missed)
            self.stdout.write(
                f"  {what:<32} {term or '—':<8} ours {cpu_spread(runs['ours'])}  bare "
                f"{cpu_spread(runs['bare'])}  {ratio:5.2f}× (target ≤ {TARGET}×: {verdict}; "
                f"contains: {found}; {len(shown)} shown)"
            )
        if current_role() != connection.settings_dict["USER"]:
            raise CommandError("the bench's connection did not get its role back")
        if missed:
            raise CommandError("Over target: " + "; ".join(missed))
