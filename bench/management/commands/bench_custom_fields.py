"""Benchmark custom-field filters at size: the big bench company (600,000 contacts among make
bench's 1,000,000) gets 校区 (a single choice, on four contacts in five; 线上 on one in 200) and
生日 (a date, on three in five), filled set-based the first time through `Contact.custom`, so
PostgreSQL's trigger writes the typed value table as it does for the app. The contact list's
first page, filtered as the list filters (crm.customfields.conditions_q), is timed as a role
like the application's under row-level security, against the bare SQL that reads the same page
as the superuser from the same index in one statement. Run by make bench."""

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
from crm.customfields import (
    CustomCondition,
    conditions_q,
    custom_field_create,
    custom_fields_of,
)
from crm.models import Contact, ContactCustomValue, CustomField
from crm.pagination import keyset_page
from crm.scope import tenant_scope
from crm.selectors import (
    CONTACT_ROW_FIELDS,
    CONTACT_SORTS,
    DEFAULT_CONTACT_SORT,
    ContactFilters,
    contact_list_rows,
)

ROUNDS = 21
# ours ÷ bare. Ours is the ORM, the company's fields from the cache as on the list, and for a
# value at most crm.customfields.RARE contacts hold two statements (their ids, then the page
# seeking them) where the bare one walks the list's order; the list without a filter is 2–4×
# its bare query on this 2-core machine under the other benches' load. A filter that missed
# the value table's index (a scan of the company's 840,000 values, or of the JSON column)
# would be 50× and more.
TARGET = 6.0
CAMPUS, BIRTHDAY = "校区", "生日"
CAMPUSES = ["徐汇", "浦东", "静安", "线上"]
# (what, conditions as (field label, op, value), how the bare SQL finds it)
FILTERS = [
    ("no filter (the list's own floor)", [], "none"),
    ("校区 = 徐汇 (a quarter)", [(CAMPUS, "eq", "徐汇")], "text"),
    ("校区 = 线上 (1 in 200)", [(CAMPUS, "eq", "线上")], "text"),
    ("生日 in one month (range)",
     [(BIRTHDAY, "min", "2001-05-01"), (BIRTHDAY, "max", "2001-05-31")], "dates"),
    ("生日 is empty (two in five)", [(BIRTHDAY, "empty", "1")], "empty"),
]  # fmt: skip

# the k-th contact (its name is 客户<k>) draws h from k (Knuth's multiplicative hash), so who
# holds what does not follow the bench's other patterns (its newest contacts are every 180th):
# a campus on four in five (线上 on one in 200), a birthday on three in five, independently
DRAW = "(substr(name, 3)::int::bigint * 2654435761) %% 4294967296"
VALUES = """jsonb_strip_nulls(jsonb_build_object(
    %(campus)s, CASE WHEN h %% 200 = 0 THEN '线上' WHEN h %% 5 = 4 THEN NULL
                     ELSE (ARRAY['徐汇', '浦东', '静安'])[1 + (h / 5) %% 3] END,
    %(birthday)s, CASE WHEN (h / 1000) %% 5 < 3
                       THEN to_char(date '1975-01-01' + ((h / 7) %% 13880)::int,
                                    'YYYY-MM-DD') END))"""

ROWS = ", ".join(f"c.{field}" for field in CONTACT_ROW_FIELDS)
ORDER = "ORDER BY c.created_at DESC, c.id DESC LIMIT %(size)s"
VALUE = "SELECT 1 FROM crm_contactcustomvalue v WHERE v.tenant_id = %(t)s AND v.field_id = %(f)s AND v.contact_id = c.id"  # noqa: E501
# the first page as the list shows it, newest first, in one statement each
BARE = {
    "none": f"SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s {ORDER}",  # noqa: S608
    "text": f"""SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s
        AND EXISTS ({VALUE} AND v.value_text = %(v)s) {ORDER}""",  # noqa: S608 - ours
    "dates": f"""SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s
        AND EXISTS ({VALUE} AND v.value_date >= %(lo)s AND v.value_date <= %(hi)s)
        {ORDER}""",  # noqa: S608 - ours
    "empty": f"""SELECT {ROWS} FROM crm_contact c WHERE c.tenant_id = %(t)s
        AND NOT EXISTS ({VALUE}) {ORDER}""",  # noqa: S608 - ours
}


def fields_filled(tenant, admin, say) -> dict[str, CustomField]:
    """校区 and 生日 in the company, and their values on its contacts that have none yet (all
    of them the first time; those bench_tenant added since, after)."""
    with tenant_scope(tenant):
        fields = {field.label: field for field in custom_fields_of(tenant=tenant)}
        if CAMPUS in fields and BIRTHDAY in fields and not unfilled(tenant):
            return fields
        started = time.perf_counter()
        with transaction.atomic():
            for label, kind, options in ((CAMPUS, "choice", CAMPUSES), (BIRTHDAY, "date", [])):
                if label not in fields:
                    fields[label] = custom_field_create(
                        tenant=tenant, actor=admin, label=label, kind=kind, options=options
                    )
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(
                    f"""UPDATE crm_contact SET custom = {VALUES}
                    FROM (SELECT id, {DRAW} AS h FROM crm_contact
                          WHERE tenant_id = %(t)s AND custom = '{{}}'::jsonb) AS numbered
                    WHERE crm_contact.id = numbered.id""",  # noqa: S608 - constants of ours
                    {"t": tenant.pk, "campus": fields[CAMPUS].key,
                     "birthday": fields[BIRTHDAY].key},
                )  # fmt: skip
                filled = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE crm_contact")
        cursor.execute("VACUUM ANALYZE crm_contactcustomvalue")
    say(f"  custom values given: {filled:,} contacts in {time.perf_counter() - started:.0f} s")
    return fields


def unfilled(tenant) -> bool:
    """Whether some contact that should hold a campus (four in five) holds nothing yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT EXISTS (SELECT 1 FROM crm_contact WHERE tenant_id = %s
               AND custom = '{{}}'::jsonb AND {DRAW} %% 5 = 0)""",  # noqa: S608 - ours
            [tenant.pk],
        )
        return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "Benchmarks custom-field filters at 600,000 contacts against their bare SQL."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=600_000,
                            help="the big company's contacts (a quick try: fewer)")  # fmt: skip

    def handle(self, *args, **options):
        big, admin = bench_tenant(0, options["contacts"], say=self.stdout.write)
        fields = fields_filled(big, admin, self.stdout.write)
        app_role_prepare()
        size = settings.CONTACTS_PAGE_SIZE
        ordering = CONTACT_SORTS[DEFAULT_CONTACT_SORT]
        with tenant_scope(big):
            big_n = Contact.objects.for_tenant(big).count()
            values_n = ContactCustomValue.objects.for_tenant(big).count()
        self.stdout.write(
            f"Custom-field filters, first page of {size}, {big_n:,} contacts and {values_n:,} "
            f"values in the company; ours as {APP_ROLE} (row-level security), bare as the "
            f"superuser, {ROUNDS} runs in turn:"
        )
        missed: list[str] = []
        for what, written, how in FILTERS:
            conditions = tuple(
                CustomCondition(fields[label].key, op, value) for label, op, value in written
            )
            field = fields[written[0][0]] if written else None
            values = {op: value for _label, op, value in written}
            params = {"t": big.pk, "f": field.pk if field else None, "v": values.get("eq"),
                      "lo": values.get("min"), "hi": values.get("max"), "size": size}  # fmt: skip

            def ours_page(conditions=conditions) -> list[int]:
                filters = ContactFilters(custom=conditions)
                rows = contact_list_rows(tenant=big, filters=filters, viewer=admin)
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
                ignored = conditions_q(tenant=big, conditions=conditions,
                                       fields=fields.values())[1]  # fmt: skip
                shown = ours_page()
            if ignored:
                raise CommandError(f"{what}: the list would leave {ignored} out")
            if shown != bare_page():
                raise CommandError(f"{what}: ours and the bare SQL found different pages")
            runs = alternating({"bare": bare_page, "ours": ours}, ROUNDS)
            ratio, verdict = judged(f"filter {what}", runs["ours"], runs["bare"], TARGET, missed)
            self.stdout.write(
                f"  {what:<34} ours {cpu_spread(runs['ours'])}  bare "
                f"{cpu_spread(runs['bare'])}  {ratio:5.2f}× (target ≤ {TARGET}×: {verdict}; "
                f"{len(shown)} shown)"
            )
        if current_role() != connection.settings_dict["USER"]:
            raise CommandError("the bench's connection did not get its role back")
        if missed:
            raise CommandError("Over target: " + "; ".join(missed))
