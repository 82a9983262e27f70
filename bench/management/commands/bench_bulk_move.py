"""Benchmark: a bulk move of 10,000 contacts against the bare SQL that does the same writes.

Run by make bench. It builds its own tenant with set-based SQL, measures each variant several
times inside a transaction that is rolled back, and prints medians and ratios.
"""

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench.timing import alternating, spread, times_itself
from crm.models import Contact, Membership, Role, Tenant
from crm.tenancy import membership_add
from lifecycle.bulk_moves import contacts_bulk_move

BENCH_SLUG = "bench-bulk-move"
# issue 16: a bulk move, of picked contacts or of all matching a filter, within 1.5× the bare SQL
TARGET = 1.5


class Rollback(Exception):
    pass


def timed(work) -> float:
    """Seconds `work` takes inside a transaction that is then rolled back."""
    start = time.perf_counter()
    try:
        with transaction.atomic():
            work()
            elapsed = time.perf_counter() - start
            raise Rollback
    except Rollback:
        return elapsed


class Command(BaseCommand):
    help = "Times a 10,000-contact bulk move against the bare SQL UPDATE + INSERT (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=100_000, help="contacts in the tenant")
        parser.add_argument("--move", type=int, default=10_000, help="contacts moved at once")
        parser.add_argument("--repeat", type=int, default=7)

    def handle(self, *args, contacts, move, repeat, **options):
        tenant, actor = self._tenant(contacts)
        ids = list(
            Contact.objects.for_tenant(tenant).order_by("id").values_list("id", flat=True)[:move]
        )

        def bare():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE crm_contact SET stage = 'lead', stage_entered_at = now(), "
                    "updated_at = now(), stage_version = stage_version + 1 WHERE id = ANY(%s)",
                    [ids],
                )
                cursor.execute(
                    "INSERT INTO lifecycle_stagechange (tenant_id, contact_id, kind, from_stage,"
                    " to_stage, from_status, to_status, actor_id, actor_label, channel, reason,"
                    " lost_reason, created_at) SELECT %s, id, 'moved', 'subscriber', 'lead',"
                    " 'active', 'active', %s, '', 'bulk', '', '', now() FROM unnest(%s) AS id",
                    [tenant.pk, actor.pk, ids],
                )

        def ours_ids():
            result = contacts_bulk_move(tenant=tenant, actor=actor, contacts=ids, to_stage="lead")
            if result.done != len(ids):
                raise CommandError(f"moved {result.done} of {len(ids)}: {result.skipped}")

        def ours_filter():
            matching = Contact.objects.for_tenant(tenant).filter(id__lte=ids[-1])
            result = contacts_bulk_move(
                tenant=tenant, actor=actor, contacts=matching, to_stage="lead"
            )
            if result.done != len(ids):
                raise CommandError(f"moved {result.done} of {len(ids)}: {result.skipped}")

        timed(bare)  # warm the caches once before measuring anything
        runs = alternating(
            {
                "bare SQL UPDATE + INSERT": times_itself(lambda: timed(bare)),
                "contacts_bulk_move, picked ids": times_itself(lambda: timed(ours_ids)),
                "contacts_bulk_move, all matching a filter": times_itself(
                    lambda: timed(ours_filter)
                ),
            },
            repeat,
        )
        results = {name: statistics.median(seconds) for name, seconds in runs.items()}
        base = results["bare SQL UPDATE + INSERT"]
        self.stdout.write(
            f"Bulk move of {len(ids):,} contacts with their history rows "
            f"(tenant of {contacts:,} contacts, median and range of {repeat} runs, in turn):"
        )
        for name, seconds in results.items():
            self.stdout.write(f"  {name:<44} {spread(runs[name]):<26} {seconds / base:4.2f}× bare")
        worst = max(v for k, v in results.items() if k.startswith("contacts_")) / base
        verdict = "within" if worst <= TARGET else "OVER"
        self.stdout.write(f"  target: at most {TARGET:.2f}× bare SQL — {verdict} ({worst:.2f}×)")
        if verdict == "OVER":
            raise CommandError(f"bulk move over its target: {worst:.2f}× bare SQL")

    def _tenant(self, contacts: int):
        tenant = Tenant.objects.filter(slug=BENCH_SLUG).first()
        if tenant is None:
            tenant = Tenant.objects.create(slug=BENCH_SLUG, name="Bench 公司")
            membership_add(
                tenant=tenant,
                actor=None,
                username="bench-sales",
                role=Role.SALES,
                password="bench-only-password",  # noqa: S106
            )
        actor = Membership.objects.for_tenant(tenant).get(user__username="bench-sales")
        have = Contact.objects.for_tenant(tenant).count()
        if have < contacts:
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    INSERT INTO crm_contact (tenant_id, name, name_sort, email, phone,
                        wechat_id, weibo, company, source, notes, created_at, updated_at, stage,
                        furthest_stage, stage_entered_at, stage_version, status, lost_reason,
                        lost_note)
                    SELECT %s, '客户' || g, 'ke hu ' || g || E'\t客户' || g, '',
                           '1' || lpad(g::text, 10, '0'), '', '', '',
                           'bench', '', now(), now(), 'subscriber', 'subscriber', now(), 0,
                           'active', '', ''
                    FROM generate_series(%s, %s) AS g
                    """,
                    [tenant.pk, have + 1, contacts],
                )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE crm_contact")
                cursor.execute("ANALYZE lifecycle_stagechange")
        return tenant, actor
