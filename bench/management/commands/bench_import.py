"""Benchmark: importing a 100,000-row spreadsheet against a bare COPY of the same file.

Run by make bench. The file is a realistic Chinese CSV: stages by key and by label, tags by
label and alias, phones written with "+86", one row in ten an existing contact to update and one
in two hundred with a bad email.

- The bare COPY loads the same file, as it is, straight into crm_contact (the columns the file
  lacks taken from defaults set for the occasion), and commits: the deferred foreign-key
  checks run at COMMIT, and a load that skipped them would not be one. Then it is deleted.
- The import runs as the worker runs it: committed chunk by chunk, two side by side, connected
  as a role like the application's, so row-level security checks every row written (the
  superuser's COPY above bypasses it: the comparison is with the bare limit). Before each run
  the tenant is put back as it was (its imported rows deleted, its 100,000 contacts made anew)
  and the tables vacuumed. The recomputes and the tables' ANALYZE it asks for at the end are
  Celery tasks of their own, queued in a millisecond in production; here they are left out of
  the time.
"""

import csv
import io
import random
import statistics
import time
from contextlib import contextmanager
from unittest import mock

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench.management.commands.bench_funnel import APP_ROLE, app_role_prepare, current_role
from bench.timing import alternating, spread, times_itself
from crm.models import Membership, Role, Tenant
from crm.scope import tenant_scope
from crm.tenancy import membership_add
from demo.tags import seed_tag_scheme
from lifecycle.models import StageSetting
from lifecycle.selectors import stage_settings_changed
from spreadsheets.imports import jobs as imports

BENCH_SLUG = "bench-import"
COPY_SLUG = "bench-import-copy"
HEADER = ["姓名", "手机", "邮箱", "微信", "公司", "来源", "阶段", "标签"]
STAGES = ["subscriber", "lead", "02-潜客", "mql", "营销合格", "04-咨询", "sql", "opportunity"]
# every one a tag or an alias of the seeded scheme (demo.tags.SCHEME): the file's only refused rows
# are its bad emails, as make loadtest checks
TAGS = ["公众号", "地推传单", "传单", "口语", "商务英语", "互联网", "教培", "高意向", "金融"]
TABLES = "crm_contact, lifecycle_stagechange, tagging_contacttag"


def vacuum() -> None:
    """The rows of the last run would otherwise sit, dead, in every index this run probes. And
    each run starts just after a checkpoint: a checkpoint comes every ~500 MB of WAL here (a few
    runs), and a run that follows one writes whole pages for every page it touches first, up
    to 30 % slower (COPY measured 2.9-4.8 s without, in turn with the same import)."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLES}")  # noqa: S608 - fixed names
        cursor.execute("CHECKPOINT")


@contextmanager
def as_app_role():
    """Every connection opened meanwhile (this one and the side-by-side chunks' threads') logs
    in as the superuser and acts as the application's role from its first statement."""
    options = connection.settings_dict.setdefault("OPTIONS", {})
    connection.close()
    options["options"] = f"-c role={APP_ROLE}"
    try:
        yield
    finally:
        connection.close()
        del options["options"]


def bench_file(rows: int, existing: int) -> bytes:
    rng = random.Random("funnel-bench-import")  # noqa: S311 - test data, not secrets
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        known = i % 10 == 0 and i // 10 < existing  # one row in ten: a contact already there
        # mainland mobiles: the ones already there stored as 139…, new people written "+86 138 …"
        phone = f"139{i // 10 + 1:08d}" if known else f"+86 138 {i:08d}"
        email = f"user{i}@example" if i % 200 == 199 else f"user{i}@example.com"
        tags = "、".join(rng.sample(TAGS, rng.randint(0, 2)))
        writer.writerow(
            [f"客户{i}", phone, email, f"wx_{i}", f"公司{i % 500}", "展会",
             rng.choice(STAGES), tags]
        )  # fmt: skip
    return out.getvalue().encode("utf-8")


def import_tenant_reset(tenant: Tenant, contacts: int) -> None:
    """The tenant as before any import: its contacts anew, nothing imported."""
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("tagging_contacttag", "lifecycle_stagechange", "tagging_importchunk",
                      "tagging_importjob", "crm_contact"):  # fmt: skip
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])  # noqa: S608
        cursor.execute(
            """
            INSERT INTO crm_contact (tenant_id, name, name_sort, email, phone, wechat_id,
                weibo, company, source, notes, created_at, updated_at, stage, furthest_stage,
                stage_entered_at, stage_version, status, lost_reason, lost_note)
            SELECT %s, '老客户' || g, 'lao ke hu ' || g || E'\t老客户' || g, '',
                   '139' || lpad(g::text, 8, '0'), '', '', '',
                   'bench', '', now(), now(), 'lead', 'lead', now(), 0, 'active', '', ''
            FROM generate_series(1, %s) AS g
            """,
            [tenant.pk, contacts],
        )


def import_tenant(slug: str) -> tuple[Tenant, Membership]:
    """The company imports go into, with its admin, tag scheme and stage labels (make bench
    and make loadtest)."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = Tenant.objects.create(slug=slug, name="Bench 导入")
        membership_add(
            tenant=tenant, actor=None, username=f"{slug}-marketer", role=Role.ADMIN,
            password="bench-only-password",  # noqa: S106
        )  # fmt: skip
    actor = Membership.objects.for_tenant(tenant).get(user__username=f"{slug}-marketer")
    seed_tag_scheme(tenant, actor)
    for stage, label in (("lead", "02-潜客"), ("sql", "04-咨询")):
        StageSetting.objects.for_tenant(tenant).update_or_create(
            tenant=tenant, stage=stage, defaults={"label": label}
        )
    stage_settings_changed(tenant=tenant)
    return tenant, actor


class Command(BaseCommand):
    help = "Times a 100,000-row import against a bare COPY of the same file (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--contacts", type=int, default=100_000, help="already in the tenant")
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args, rows, contacts, repeat, **options):
        app_role_prepare()
        tenant, actor = self._tenant(BENCH_SLUG)
        copy_tenant, _actor = self._tenant(COPY_SLUG)
        content = bench_file(rows, contacts)

        self.bare_copy(copy_tenant, content)  # warm the caches once before measuring anything
        jobs = []

        def import_timed() -> float:
            seconds, job = self.import_once(tenant, actor, contacts, content)
            jobs.append(job)
            return seconds

        runs = alternating(
            {
                "copy": times_itself(lambda: self.bare_copy(copy_tenant, content)),
                "import": times_itself(import_timed),
            },
            repeat,
        )
        job = jobs[-1]
        self._reset(tenant, contacts)
        base, took = statistics.median(runs["copy"]), statistics.median(runs["import"])
        self.stdout.write(
            f"Import of a {rows:,}-row CSV ({len(content) / 1e6:.1f} MB) into a tenant of "
            f"{contacts:,} contacts, median and range of {repeat} runs, in turn:"
        )
        copy, imported = spread(runs["copy"]), spread(runs["import"])
        self.stdout.write(f"  bare COPY of the file into crm_contact  {copy}   1.00×")
        self.stdout.write(
            f"  import (read, check, dedupe, apply)    {imported}   {took / base:4.2f}×"
        )
        self.stdout.write(
            f"  rows: {job.created:,} created, {job.updated:,} updated, {job.skipped:,} unchanged,"
            f" {job.merged:,} merged, {job.failed:,} failed"
        )
        verdict = "within" if took / base <= 3 else "OVER"
        self.stdout.write(f"  target: at most 3.00× the bare COPY — {verdict} ({took / base:.2f}×)")
        if verdict == "OVER":
            raise CommandError(f"import over its target: {took / base:.2f}× the bare COPY")

    def bare_copy(self, tenant: Tenant, content: bytes) -> float:
        """COPY of the file into crm_contact, committed: a load is not done until its foreign
        keys are checked, and Django makes them deferred, so they are checked at COMMIT."""
        defaults = {
            "tenant_id": tenant.pk, "weibo": "''", "notes": "''", "created_at": "now()",
            "updated_at": "now()", "furthest_stage": "''", "stage_entered_at": "now()",
            "stage_version": "0", "status": "'active'", "lost_reason": "''", "lost_note": "''",
            "name_sort": "'-'",  # any key: the bare load computes none
        }  # fmt: skip
        columns = "name, phone, email, wechat_id, company, source, stage, notes"
        self._reset(tenant, 0)
        vacuum()
        with connection.cursor() as cursor:
            for column, value in defaults.items():  # for this COPY only (undone below)
                cursor.execute(
                    f"ALTER TABLE crm_contact ALTER COLUMN {column} SET DEFAULT {value}"  # noqa: S608
                )
            try:
                start = time.perf_counter()
                with (
                    transaction.atomic(),
                    cursor.copy(
                        f"COPY crm_contact ({columns}) FROM STDIN"  # noqa: S608
                        f" (FORMAT csv, HEADER, FORCE_NOT_NULL ({columns}))"
                    ) as copy,
                ):
                    copy.write(content)
                elapsed = time.perf_counter() - start
            finally:
                for column in defaults:
                    cursor.execute(f"ALTER TABLE crm_contact ALTER COLUMN {column} DROP DEFAULT")  # noqa: S608
        self._reset(tenant, 0)
        return elapsed

    def import_once(self, tenant, actor, contacts: int, content: bytes):
        self._reset(tenant, contacts)
        # the upload step, where the marketer sees the preview: not part of the job
        job = imports.import_start(
            tenant=tenant, actor=actor, file_name="bench.csv", content=content,
            language="zh-hans",
        )  # fmt: skip
        job.status = job.QUEUED
        job.save(update_fields=["status"])
        vacuum()
        with (
            mock.patch.object(imports, "tenant_changed"),
            mock.patch.object(imports, "enqueue_on_commit"),  # the tables' ANALYZE, a task too
            as_app_role(),
            tenant_scope(tenant),
        ):
            if current_role() != APP_ROLE:
                raise CommandError("the import would not run as the application's role")
            start = time.perf_counter()
            job = imports.import_run(job=job)
            return time.perf_counter() - start, job

    def _reset(self, tenant: Tenant, contacts: int) -> None:
        import_tenant_reset(tenant, contacts)

    def _tenant(self, slug: str) -> tuple[Tenant, Membership]:
        return import_tenant(slug)
