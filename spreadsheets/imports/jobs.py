"""Spreadsheet imports a marketer can trust: encodings detected, columns guessed, people
deduplicated (inside the file and against the company), stages only ever moved forward, every
row applied or reported, and a crash or a second run never duplicating anyone.

Rows are processed in chunks; each chunk commits together with the job's progress, so a worker
that dies mid-import leaves whole chunks done and the re-run carries on from where it stopped.
"""

import queue
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from psycopg.errors import TransactionRollback

from crm.audit import audit_record
from crm.customfields import custom_fields_of
from crm.models import AuditKind, Membership, Tenant
from crm.permissions import can_import
from crm.queueing import enqueue_on_commit
from crm.scope import tenant_scope
from crm.services import ServiceError
from lifecycle.scheduling import tenant_changed
from tagging.models import TagGroup

from ..models import ImportChunk, ImportJob
from .applying import apply_chunk, warnings_begin
from .checking import IDENTITY, NORMALIZE, Record, RowChecker, merge_records
from .reading import (
    CUSTOM,
    FIELDS,
    GROUP,
    Table,
    custom_target,
    data_rows,
    find_header_row,
    group_target,
    guess_mapping,
    names_our_fields,
    read_preview,
)
from .runs import (
    RUN_IMPORT,
    beating,
    failure_code,
    run_alone,
    run_beat,
    run_begin,
    run_fail,
)

CHUNK = 10_000  # people applied, and committed with the job's progress, together
SIDE_BY_SIDE = 2  # chunks applied at once (outside a transaction): one per core
ANALYZE_AFTER = 1000  # contacts created by one import
ANALYZED = ("crm_contact", "lifecycle_stagechange", "tagging_contacttag")
ANALYZE_TASK = "spreadsheets.tasks.analyze_imported_tables"
# An upload whose columns are not chosen within this time loses its file (beat, hourly).
WAITING_EXPIRES = timedelta(hours=24)
UPLOAD_EXPIRED = gettext_lazy(
    "This upload waited more than 24 hours for its columns and its file was deleted. "
    "Upload the file again."
)


def _check_waiting_room(tenant: Tenant) -> None:
    """Uploads waiting for their columns hold a whole file each: a company keeps a few."""
    limit = settings.IMPORT_WAITING_UPLOADS_MAX
    since = timezone.now() - WAITING_EXPIRES  # older ones are about to expire: not counted
    waiting = ImportJob.objects.for_tenant(tenant).filter(
        status=ImportJob.PENDING, created_at__gt=since
    )
    if waiting.count() >= limit:
        raise ServiceError(
            ngettext(
                "%(count)s upload is already waiting for its columns to be chosen. Finish or "
                "cancel it first (under Imports); nothing was uploaded.",
                "%(count)s uploads are already waiting for their columns to be chosen. Finish "
                "or cancel one of them first (under Imports); nothing was uploaded.",
                limit,
            )
            % {"count": limit}
        )


@transaction.atomic
def import_start(
    *, tenant: Tenant, actor: Membership, file_name: str, content: bytes, language: str
) -> ImportJob:
    if not can_import(actor):
        raise ServiceError(_("Only admins and marketers may import contacts."))
    _check_waiting_room(tenant)  # before reading a large file for nothing
    table, rows = _first_sheet_with_rows(content, file_name)
    header_row, header = _header_of(rows)
    # Two uploads at once must not both take the last place. NO KEY: rows that merely refer
    # to the company (every insert of its data) are not held up.
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).first()
    _check_waiting_room(tenant)
    return ImportJob.objects.create(
        tenant=tenant, created_by=actor, file_name=file_name[:255], content=content,
        kind=table.kind, encoding=table.encoding, language=language, sheet=table.sheet,
        mapping=mapping_guess(tenant=tenant, header=header), header_row=header_row,
        total=0,  # counted by the worker
    )  # fmt: skip


def _first_sheet_with_rows(content: bytes, file_name: str):
    """The preview of the sheet Excel opens on; unless that one is empty, or names none of
    our columns while another sheet does (a 填写说明 sheet in front of the list): then of the
    first such other sheet. The columns step says which was read and offers the others."""
    try:
        chosen = read_preview(content, file_name)  # the first rows only, never the file
    except ServiceError as exc:
        chosen, refused = None, exc
    if chosen is not None and (chosen[0].kind != "xlsx" or names_our_fields(chosen[1])):
        return chosen
    table = chosen[0] if chosen else Table(content, file_name)
    for sheet in [name for name in sheets_of(table) if name != table.sheet]:
        try:
            other = read_preview(content, file_name, sheet=sheet)
        except ServiceError:
            continue
        if names_our_fields(other[1]):
            return other
        chosen = chosen or other
    if chosen is None:
        raise refused
    return chosen


def sheets_of(table: Table) -> list[str]:
    """The names of an Excel file's sheets (none for a CSV); opens the file, reads no row."""
    if table.kind == "xlsx" and not table.sheets:
        next(iter(table.rows()), None)
    return table.sheets


def _header_of(rows: list[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    header_row = find_header_row(rows)
    header = next(cells for number, cells in rows if number == header_row)
    if not any(any(cells) for number, cells in rows if number > header_row):
        raise ServiceError(_("The file has headers but no rows under them to import."))
    return header_row, header


@transaction.atomic
def import_sheet_choose(*, job: ImportJob, sheet: str) -> ImportJob:
    """Reads another sheet of the uploaded file (no new upload): its header row found and
    its columns guessed afresh. A sheet that cannot be imported changes nothing."""
    locked = ImportJob.objects.for_tenant(job.tenant).select_for_update().get(pk=job.pk)
    if locked.status != ImportJob.PENDING:
        raise ServiceError(_("This import has started: it stays in the history."))
    _table, rows = read_preview(bytes(locked.content), locked.file_name, sheet=sheet)
    locked.header_row, header = _header_of(rows)
    locked.sheet = sheet
    locked.mapping = mapping_guess(tenant=locked.tenant, header=header)
    locked.save(update_fields=["sheet", "header_row", "mapping"])
    return locked


def mapping_guess(*, tenant: Tenant, header: list[str]) -> dict[str, str]:
    """Which field each column holds, by its header: ours, one of the company's own, or one
    of its tag groups."""
    return guess_mapping(header, custom_fields_of(tenant=tenant), import_groups(tenant=tenant))


def import_groups(*, tenant: Tenant) -> list[tuple[str, str]]:
    """The company's tag groups a column may be imported into: (key, label), as listed."""
    return list(TagGroup.objects.for_tenant(tenant).values_list("key", "label"))


@transaction.atomic
def import_confirm(
    *,
    job: ImportJob,
    mapping: dict[str, str],
    create_tags: bool,
    owner: Membership | None = None,
    merge_shared_email: bool = False,
) -> ImportJob:
    """Starts the import with the columns chosen. `owner`: one owner for every row (an "owner"
    column, if mapped, names each row's own; its empty cells get this one)."""
    # the page was read a while ago: the upload may have expired or been confirmed since
    status = (
        ImportJob.objects.for_tenant(job.tenant)
        .select_for_update()
        .values_list("status", flat=True)
        .get(pk=job.pk)
    )
    if status == ImportJob.EXPIRED:
        raise ServiceError(str(UPLOAD_EXPIRED))
    if status != ImportJob.PENDING:
        raise ServiceError(_("This import has started: it stays in the history."))
    chosen = [f for f in mapping.values() if f]
    if not any(f in chosen for f in IDENTITY):
        raise ServiceError(
            _("Map at least one of phone, email or WeChat ID: that is how people are recognised.")
        )
    if len(chosen) != len(set(chosen)):
        raise ServiceError(_("Each field can come from one column only."))
    if owner is not None and owner.tenant_id != job.tenant_id:
        raise ServiceError(_("The owner must be a member of this company."))
    custom = {custom_target(field.key) for field in custom_fields_of(tenant=job.tenant)}
    if any(f.startswith(CUSTOM) and f not in custom for f in chosen):
        raise ServiceError(
            _("A custom field chosen for a column was deleted meanwhile: choose the columns again.")
        )
    groups = {group_target(key) for key, _label in import_groups(tenant=job.tenant)}
    if any(f.startswith(GROUP) and f not in groups for f in chosen):
        raise ServiceError(
            _("A tag group chosen for a column was deleted meanwhile: choose the columns again.")
        )
    job.mapping = {k: v for k, v in mapping.items() if v in FIELDS or v in custom or v in groups}
    job.create_tags = create_tags
    job.owner = owner
    job.merge_shared_email = merge_shared_email  # else such rows are reported, not merged
    job.status = ImportJob.QUEUED
    job.heartbeat_at = timezone.now()  # queued now: the backstop re-queues it if never picked up
    job.save(update_fields=["mapping", "create_tags", "owner", "merge_shared_email", "status",
                            "heartbeat_at"])  # fmt: skip
    # no count: the worker counts the file's rows, and the log is append-only (the import's
    # page, linked by the job, has its figures)
    audit_record(tenant=job.tenant, actor=job.created_by, kind=AuditKind.IMPORT_RUN,
                 subject=job.file_name, details={"job": job.pk})  # fmt: skip
    enqueue_on_commit(RUN_IMPORT, job.tenant_id, job.pk, tenant_id=job.tenant_id)
    return job


@transaction.atomic
def import_cancel(*, job: ImportJob, actor: Membership) -> None:
    """Drops an upload whose columns were never chosen, file and all. An import that ran stays
    in the history: it says who brought which people in."""
    if not can_import(actor):
        raise ServiceError(_("Only admins and marketers may import contacts."))
    locked = ImportJob.objects.for_tenant(job.tenant).select_for_update().get(pk=job.pk)
    if locked.status != ImportJob.PENDING:
        raise ServiceError(_("This import has started: it stays in the history."))
    locked.delete()


def imports_expire_waiting(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Uploads of `tenant` left waiting for their columns over WAITING_EXPIRES: their file is
    deleted and they stay in the history as expired. One statement; running it again finds
    nothing more to do. Returns how many expired."""
    now = now or timezone.now()
    return (
        ImportJob.objects.for_tenant(tenant)
        .filter(status=ImportJob.PENDING, created_at__lt=now - WAITING_EXPIRES)
        .update(status=ImportJob.EXPIRED, content=b"", finished_at=now)
    )


def import_run(*, job: ImportJob, retries_left: bool = False) -> ImportJob:
    """Runs (or resumes) an import not done, unless another run holds it. Safe to run
    again: the chunks already committed are listed on the job and skipped, and a redone chunk
    would only find the people it created. A run that fails stops the import with the reason
    (and re-raises), unless the database failed and the caller will try again (`retries_left`)."""
    with run_alone(job) as alone:
        if not alone or not run_begin(job=job):
            return job  # another worker has it, or it is done or stopped meanwhile
        try:
            return _run(job)
        except BaseException as exc:
            failure = failure_code(exc)
            if not (retries_left and failure == "database"):
                run_fail(job=job, failure=failure)
            raise


def _run(job: ImportJob) -> ImportJob:
    with translation.override(job.language):
        # the whole file first: a damaged row stops the import before anything is written
        header: list[str] = []  # the file's headers, filled as they are read
        read = data_rows(bytes(job.content), job.file_name, job.header_row, sheet=job.sheet,
                         header=header)  # fmt: skip
        rows = list(beating(read, job))
        tenant = job.tenant
        job.total = len(rows)
        ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(total=job.total)
        checker = RowChecker(job=job, header=header)
        shared = shared_rows(rows, checker.columns)
        done = set(
            ImportChunk.objects.for_tenant(tenant).filter(job=job).values_list("number", flat=True)
        )
        job.created_by  # noqa: B018 - loaded once here, read by every chunk
        # People alone in the file are final once checked: their chunks are applied while the
        # rest is checked. People the file lists more than once are merged at the end.
        with _Chunks(job, checker.single, done=done) as chunks:
            alone: list[Record] = []
            together: list[Record] = []
            for number, row in beating(rows, job):  # a long check still says "running"
                record = checker.check(number, row)
                if record is None:
                    continue
                if number in shared:
                    together.append(record)
                    continue
                alone.append(record)
                if len(alone) == CHUNK:
                    chunks.apply(alone)
                    alone = []
            chunks.apply(alone)
            merged = merge_records(
                together, checker.single, shared_email=job.merge_shared_email,
                errors=checker.errors, warnings=checker.warnings,
            )  # fmt: skip
            errors = checker.errors  # in the rows' order
            job.failed = len({e["row"] for e in errors})  # the chunks' own are added to it
            ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
                errors=errors, failed=job.failed
            )
            warnings_begin(job=job, warnings=checker.warnings)
            for start in range(0, len(merged), CHUNK):
                chunks.apply(merged[start : start + CHUNK])
        totals = import_progress(job=job)
        ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            status=ImportJob.DONE, finished_at=timezone.now(), done=totals.done,
            created=totals.created, updated=totals.updated, skipped=totals.skipped,
            merged=totals.merged, failed=totals.failed,
        )  # fmt: skip
        job.refresh_from_db()
        if job.created >= ANALYZE_AFTER:
            # A big import into a bigger table is too small a share for autovacuum to notice,
            # and stale statistics make the recomputes' plans 200x slower (measured: 40 s
            # instead of 0.18 s for a 20,000-contact tenant beside 1M others). A task of its
            # own (2-3 s on a million contacts): the import is done once its rows are, and
            # the recomputes, which wait 2 s and more, come after it.
            enqueue_on_commit(ANALYZE_TASK, tenant.pk, tenant_id=tenant.pk)
        tenant_changed(tenant.pk)
        return job


def shared_rows(rows: list[tuple[int, list[str]]], columns: list[tuple[int, str]]) -> set[int]:
    """The numbers of the rows whose phone, email or WeChat ID another row gives too, as the
    checker will read them: the only rows that can become one person with another."""
    identity = [(index, name, NORMALIZE[name]) for index, name in columns if name in IDENTITY]
    first: dict[tuple[str, str], int] = {}
    shared: set[int] = set()
    for number, row in rows:
        width = len(row)
        for index, name, normalize in identity:
            if index < width and row[index]:
                value = normalize(row[index])
                if value:
                    seen = first.setdefault((name, value), number)
                    if seen != number:
                        shared.update((seen, number))
    return shared


def _commit_chunk(job: ImportJob, n: int, chunk: list[Record], single: dict[int, int]) -> None:
    """Applies chunk `n` and records it done, in one transaction."""
    chunks = ImportChunk.objects.for_tenant(job.tenant).filter(job=job)
    for attempt in range(3):
        try:
            with transaction.atomic():
                # the planner's costs for 10,000-row statements pass jit_above_cost, and
                # compiling them takes longer than running them (measured: 220 ms vs 40 ms)
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
                if chunks.filter(number=n).exists():
                    return  # a second run of the same job got there first
                applied = apply_chunk(job, chunk, single)
                ImportChunk.objects.create(
                    tenant=job.tenant, job=job, number=n,
                    rows=sum(len(r.rows) for r in chunk) - applied.failed,
                    created=applied.created, updated=applied.updated, skipped=applied.unchanged,
                    merged=applied.merged, created_ids=applied.new_ids,
                    warnings=applied.warnings, errors=applied.errors, failed=applied.failed,
                    custom_filled=applied.custom_filled,
                )  # fmt: skip
            run_beat(job=job)
            return
        except (OperationalError, IntegrityError) as exc:
            # A deadlock with the chunk beside it (both locking the same existing people), or
            # someone adding one of these people a moment ago: the rerun sees it all. A lost
            # connection is not retried here: the run stops and is tried again afresh.
            lost = isinstance(exc, OperationalError) and not isinstance(
                exc.__cause__, TransactionRollback
            )
            if attempt == 2 or lost:
                raise


def _analyze(table: str) -> None:
    """As the tables' owner (migration 0002): the application's role may not ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT import_table_analyze(%s)", [table])


def imported_tables_analyze() -> None:
    """The planner's statistics of the tables an import fills, brought up to date."""
    for table in ANALYZED:
        _analyze(table)


class _Chunks:
    """Applies the chunks handed to it, numbered in the order given, skipping those `done`
    (a run resumed). Inside a transaction (tests, an eager run) each is applied at once;
    otherwise SIDE_BY_SIDE threads apply them, each on a connection (and a core) of its own,
    while the caller goes on checking rows: one's Python runs while the others' statements do.
    Chunks can run side by side: they hold different people. A chunk that fails stops the
    rest, and the caller at its next hand-over; leaving the block waits for every chunk."""

    def __init__(self, job: ImportJob, single: dict[int, int], *, done: set[int]):
        self.job, self.single, self.done = job, single, done
        self.number = 0
        self.inline = connection.in_atomic_block
        self.queue: queue.Queue = queue.Queue()
        self.failures: list[BaseException] = []
        self.threads = [] if self.inline else [
            threading.Thread(target=self._work, args=(job.language, job.tenant_id))
            for _ in range(SIDE_BY_SIDE)
        ]  # fmt: skip

    def __enter__(self) -> "_Chunks":
        for thread in self.threads:
            thread.start()
        return self

    def apply(self, records: list[Record]) -> None:
        if self.failures:
            raise self.failures[0]
        if not records:
            return
        n, self.number = self.number, self.number + 1
        if n in self.done:
            return
        if self.inline:
            _commit_chunk(self.job, n, records, self.single)
        else:
            self.queue.put((n, records))

    def __exit__(self, kind, exc, traceback) -> None:
        if exc is not None:  # a time limit or a failure here: the threads stop after their chunk
            self.failures.append(exc)
        for _thread in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if exc is None and self.failures:
            raise self.failures[0]

    def _work(self, language: str, tenant_id: int) -> None:
        try:
            # a thread starts in the default language, and its connection in no company
            with translation.override(language), tenant_scope(tenant_id):
                while (item := self.queue.get()) is not None and not self.failures:
                    _commit_chunk(self.job, *item, self.single)
        except BaseException as exc:  # handed to the caller at its next step
            self.failures.append(exc)
        finally:
            connection.close()  # this thread's own connection


def import_progress(*, job: ImportJob) -> ImportJob:
    """The job with its counts as they stand: until it is done (running, stopped, or queued to
    continue), summed from its applied chunks."""
    if job.status in (ImportJob.QUEUED, ImportJob.RUNNING, ImportJob.FAILED):
        sums = ImportChunk.objects.for_tenant(job.tenant).filter(job=job).aggregate(
            done=Sum("rows"), created=Sum("created"), updated=Sum("updated"),
            skipped=Sum("skipped"), merged=Sum("merged"), failed=Sum("failed"),
        )  # fmt: skip
        # the job holds the rows its check refused; the chunks those refused when applied
        job.failed += sums.pop("failed") or 0
        for name, value in sums.items():
            setattr(job, name, value or 0)
    return job


def import_jobs(*, tenant: Tenant, limit: int = 100) -> list[ImportJob]:
    """The company's latest imports, newest first, with their progress."""
    jobs = ImportJob.objects.for_tenant(tenant).select_related("created_by__user").defer("content")
    return [import_progress(job=job) for job in jobs[:limit]]
