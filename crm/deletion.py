"""Deleting a company with everything it stored (docs/architecture.md, Company deletion).

Asked for by an operator (`manage.py delete_company`) or by the company's last admin (Settings →
Company → Delete). `company_deletion_start` marks the company (nobody signs in to it, its API
tokens answer 401) and writes the platform's `CompanyDeletion` record; `company_deletion_run`
then removes every row, table by table in the order the foreign keys ask, a few thousand rows
per transaction, so a company with a million contacts never holds one giant transaction. Each
chunk commits with the record's counts: a run that is killed is simply run again and continues.

Which tables, and in what order, comes from Django's model graph, never a hand list: every
TenantOwned model, a model that references one before the one it references, and the rows of
other tables that hang on the company's rows (a many-to-many table, a one-time link) before
those. Database triggers write bookkeeping rows while contacts go (reach counts, history
marks), so passes repeat until one finds nothing. Row-level security holds throughout: the
connection is set to the company (`tenant_scope`), as every request and task is.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import CompanyDeletion, Membership, Tenant, TenantOwned, User
from .permissions import can_edit_company_settings
from .queueing import enqueue_on_commit
from .scope import tenant_scope, user_scope
from .selectors import admin_count
from .services import NotAllowed, ServiceError

logger = logging.getLogger(__name__)

CHUNK = 2000  # rows per statement and transaction
MAX_PASSES = 5  # triggers refill bookkeeping tables at most once or twice
SOURCE_COMMAND, SOURCE_SETTINGS = "command", "settings"


class DeletionBusy(Exception):
    """Another process is running this deletion right now."""


# --- The plan: which statements, in which order ------------------------------------------------


def tenant_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantOwned) and model._meta.managed and not model._meta.proxy
    ]


def _links(model: type[models.Model]) -> list[models.ForeignKey]:
    return [
        field
        for field in model._meta.concrete_fields
        if field.is_relation and (field.many_to_one or field.one_to_one)
    ]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass(frozen=True)
class Step:
    """One statement on `model`'s rows that match `where` (its %s: the company's id), run in
    chunks until it touches fewer rows than a chunk: their deletion, or, with `clear`, that
    link set to NULL."""

    model: type[models.Model]
    where: str
    clear: models.ForeignKey | None = None

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def files(self) -> tuple[models.FileField, ...]:
        if self.clear is not None:
            return ()
        fields = self.model._meta.concrete_fields
        return tuple(f for f in fields if isinstance(f, models.FileField))

    def chunk_of(self, columns: str) -> str:
        table, where = _q(self.table), self.where
        if self.clear is not None:
            where += f" AND {_q(self.clear.column)} IS NOT NULL"
        return f"SELECT {columns} FROM {table} WHERE {where} LIMIT %s"  # noqa: S608 - ours

    @property
    def sql(self) -> str:
        table, pk = _q(self.table), _q(self.model._meta.pk.column)
        chunk = self.chunk_of(pk)
        if self.clear is not None:
            column = _q(self.clear.column)
            return f"UPDATE {table} SET {column} = NULL WHERE {pk} IN ({chunk})"  # noqa: S608
        return f"DELETE FROM {table} WHERE {pk} IN ({chunk})"  # noqa: S608 - names are ours

    @property
    def params(self) -> int:
        """How many times the company's id is passed."""
        return self.where.count("%s")


def _tenant_column(model) -> str:
    return model._meta.get_field("tenant").column


def _owned_ids(target) -> str:
    """The company's rows of `target`."""
    table, pk = _q(target._meta.db_table), _q(target._meta.pk.column)
    return f"SELECT {pk} FROM {table} WHERE {_q(_tenant_column(target))} = %s"  # noqa: S608


def _outside_steps(owned: set) -> list[Step]:
    """Rows of tables outside the company that point at its rows (a rule's many-to-many
    tags, a one-time link of its invitation): removed, or their link cleared, as the field's
    on_delete says, before the rows they point at."""
    steps = []
    for model in apps.get_models(include_auto_created=True):
        if model in owned or model is Tenant or not model._meta.managed or model._meta.proxy:
            continue
        for field in _links(model):
            target = field.related_model
            if target is not Tenant and target not in owned:
                continue
            if target is Tenant:
                where = f"{_q(field.column)} = %s"
            else:
                where = f"{_q(field.column)} IN ({_owned_ids(target)})"
            on_delete = field.remote_field.on_delete
            if on_delete is models.SET_NULL:
                steps.append(Step(model, where, clear=field))
            elif on_delete is models.CASCADE:
                steps.append(Step(model, where))
            else:
                raise RuntimeError(
                    f"{model._meta.label}.{field.name} points at a company's rows with "
                    f"{on_delete.__name__}: say in crm/deletion.py what deleting the company does"
                )
    return steps


def deletion_plan() -> list[Step]:
    """Every statement that empties a company, in an order its foreign keys accept."""
    owned = set(tenant_models())
    predecessors: dict = {model: set() for model in owned}
    nullable: list[tuple] = []
    for model in owned:
        for field in _links(model):
            target = field.related_model
            if target not in owned:
                continue
            if target is model or field.null:
                nullable.append((model, field))
            if target is not model:
                predecessors[target].add(model)  # the referencing rows go first
    cleared: list[tuple] = [(m, f) for m, f in nullable if f.related_model is m]
    try:
        order = list(TopologicalSorter(predecessors).static_order())
    except CycleError:
        # two tables pointing at each other: their nullable links are cleared first
        cleared = nullable
        strict: dict = {model: set() for model in owned}
        for model in owned:
            for field in _links(model):
                target = field.related_model
                if target in owned and target is not model and not field.null:
                    strict[field.related_model].add(model)
        order = list(TopologicalSorter(strict).static_order())
    steps = _outside_steps(owned)
    for model, field in cleared:
        steps.append(Step(model, f"{_q(_tenant_column(model))} = %s", clear=field))
    steps += [Step(model, f"{_q(_tenant_column(model))} = %s") for model in order]
    return steps


# --- Starting ----------------------------------------------------------------------------------


def company_deletion_check(*, tenant: Tenant, actor: Membership) -> None:
    """May this member delete their company? Only an admin, and only the last one: while
    another admin remains, the company is theirs too."""
    if actor.tenant_id != tenant.pk or not can_edit_company_settings(actor):
        raise NotAllowed(_("Only the company's admin may delete the company."))
    if admin_count(tenant=tenant) > 1:
        raise NotAllowed(
            _(
                "Only the company's last admin may delete it. Other admins remain: they must "
                "leave the company, or be made members with another role, first."
            )
        )


def company_deletion_request(
    *, tenant: Tenant, actor: Membership, confirmation: str
) -> CompanyDeletion:
    """The last admin, from Settings: typed the company's name; the work runs in a task."""
    with transaction.atomic():
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        # only the last admin asks: nobody else could make another admin meanwhile
        company_deletion_check(tenant=tenant, actor=actor)
        if confirmation.strip() != tenant.name.strip():
            raise ServiceError(_("Type the company's name exactly as it is shown to confirm."))
        deletion = company_deletion_start(
            tenant=tenant, requested_by=actor.user, source=SOURCE_SETTINGS
        )
        enqueue_on_commit("crm.tasks.company_deletion_continue", deletion.pk, tenant_id=tenant.pk)
    return deletion


def company_deletion_start(
    *, tenant: Tenant, requested_by: User | None, source: str, label: str = ""
) -> CompanyDeletion:
    """Marks the company as being deleted and writes the platform's record (or returns the
    one already running: starting twice is continuing)."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        running = CompanyDeletion.objects.filter(
            company_id=tenant.pk, finished_at__isnull=True
        ).first()
        if running is not None:
            return running
        if tenant.deletion_started_at is None:
            tenant.deletion_started_at = timezone.now()
            tenant.save(update_fields=["deletion_started_at"])
        with tenant_scope(tenant):
            user_ids = sorted(
                Membership.objects.for_tenant(tenant).values_list("user_id", flat=True)
            )
        return CompanyDeletion.objects.create(
            company_id=tenant.pk,
            company_slug=tenant.slug,
            company_name=tenant.name,
            requested_by=requested_by,
            requested_by_label=label or (requested_by.username if requested_by else ""),
            source=source,
            member_user_ids=user_ids,
        )


# --- Running -----------------------------------------------------------------------------------


def _after_chunk(deletion: CompanyDeletion) -> None:
    """Called in each chunk's transaction, before it commits (a test kills a run here)."""


def _chunks(step: Step, company_id: int, size: int) -> Iterator[tuple[int, int]]:
    """Runs `step` a chunk at a time, each in its own transaction; yields (rows, files)
    inside the transaction, so the caller's counts commit with the rows."""
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            files = _delete_files_of_chunk(cursor, step, company_id, size) if step.files else 0
            cursor.execute(step.sql, [company_id] * step.params + [size])
            touched = cursor.rowcount
            yield touched, files
        if touched < size:
            return


def _delete_files_of_chunk(cursor, step: Step, company_id: int, size: int) -> int:
    """The stored files of the rows this chunk deletes (an import's upload, an export) go from
    storage before the rows: a run killed between the two finds the rows again, their files
    already gone, and carries on."""
    cursor.execute(
        step.chunk_of(", ".join(_q(f.column) for f in step.files)),
        [company_id] * step.params + [size],
    )
    removed = 0
    for row in cursor.fetchall():
        for field, name in zip(step.files, row, strict=True):
            if name:
                field.storage.delete(name)
                removed += 1
    return removed


def _run_steps(deletion: CompanyDeletion, steps: list[Step], size: int) -> int:
    total = 0
    for step in steps:
        for touched, files in _chunks(step, deletion.company_id, size):
            if step.clear is None and touched:
                deletion.counts[step.table] = deletion.counts.get(step.table, 0) + touched
                total += touched
            if files:
                deletion.counts["files"] = deletion.counts.get("files", 0) + files
            if (step.clear is None and touched) or files:
                deletion.save(update_fields=["counts"])
            _after_chunk(deletion)
    return total


def _remove_accounts_left_without_company(deletion: CompanyDeletion) -> None:
    """A person who belonged to this company only, with no invitation from another, loses
    their account with it (it could reach nothing, and it is their personal data). Whoever
    belongs to another company keeps theirs, as do the platform's staff."""
    for user_id in deletion.member_user_ids:
        with transaction.atomic(), user_scope(user_id):
            user = User.objects.select_for_update().filter(pk=user_id).first()
            if user is None or user.is_staff or user.is_superuser:
                continue
            if user.memberships.exists() or user.invitations.exists():
                continue
            user.delete()
            deletion.users_deleted = [*deletion.users_deleted, user_id]
            deletion.save(update_fields=["users_deleted"])


def company_deletion_run(*, deletion: CompanyDeletion, chunk: int = CHUNK) -> CompanyDeletion:
    """Removes what is left of the company, then the company, and closes the record. Safe to
    run again after a kill (it continues), and refused while another run holds it."""
    if deletion.finished_at is not None:
        return deletion
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, deletion.pk])
        if not cursor.fetchone()[0]:
            raise DeletionBusy(deletion.pk)
    try:
        steps = deletion_plan()
        with tenant_scope(deletion.company_id):
            for _pass in range(MAX_PASSES):
                if not _run_steps(deletion, steps, chunk):
                    break
            _remove_accounts_left_without_company(deletion)
            with transaction.atomic():
                # locked, so rows written for it from now on wait and then fail; swept once more
                Tenant.objects.select_for_update().filter(pk=deletion.company_id).first()
                _run_steps(deletion, steps, chunk)
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM crm_tenant WHERE id = %s", [deletion.company_id])
                deletion.finished_at = timezone.now()
                deletion.save(update_fields=["finished_at"])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, deletion.pk])
    logger.info("Company %s (%s) deleted: %s", deletion.company_slug, deletion.company_id,
                deletion.counts)  # fmt: skip
    return deletion


LOCK_SPACE = 19_006  # pg advisory locks' first key: this module's


def company_deletion_pending() -> list[CompanyDeletion]:
    return list(CompanyDeletion.objects.filter(finished_at__isnull=True).order_by("started_at"))
