"""What make loadtest checks once the load has stopped: it first waits for the worker to catch
up (the import done, no task queued, reserved, scheduled or running), then compares

- every company's stored funnel counts with a recount of its contacts (GROUP BY);
- the import with its file: each row the app should accept is a contact with that row's name,
  the rows with a bad email are refused, the ten thousand known people updated, not created
  twice, and the job's own counts say the same;
- the bulk move: the 10,000 are all in the stage they were moved to, each with exactly one
  history row of that move;
- the logs: no 5xx answer, no traceback or worker timeout in gunicorn's log, no task error in
  the worker's or beat's.

Each check returns the lines it prints and the failures it found (empty: passed).
"""

import csv
import io
import re
import time
from pathlib import Path

import redis
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.db.models import Count

from crm.models import Contact
from crm.normalize import normalize_email, normalize_phone
from lifecycle.models import StageChange
from spreadsheets.models import ImportJob

from .processes import broker


def import_job(plan, since) -> ImportJob | None:
    return (
        ImportJob.objects.for_tenant(plan.import_tenant)
        .filter(created_at__gte=since)
        .order_by("-created_at")
        .first()
    )


def wait_until_idle(plan, broker_url: str, *, since, timeout: float, say) -> float:
    """Seconds waited until the import is over and the worker has nothing left to do."""
    started = time.monotonic()
    deadline = started + timeout
    job = import_job(plan, since)
    while job is not None and job.status not in (ImportJob.DONE, ImportJob.FAILED):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the import is still {job.status} after {timeout:.0f} s")
        time.sleep(1)
        job = import_job(plan, since)
    say(f"  import over after {time.monotonic() - started:.0f} s more; waiting for the queue …")
    app, queue = broker(broker_url), redis.Redis.from_url(broker_url)
    quiet = 0
    while quiet < 3:  # three looks in a row, a second apart, find nothing to do
        inspect = app.control.inspect(timeout=1)
        looks = [inspect.active(), inspect.reserved(), inspect.scheduled()]
        busy = queue.llen("celery") > 0 or any(look is None or any(look.values()) for look in looks)
        quiet = 0 if busy else quiet + 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker still had tasks after {timeout:.0f} s")
        time.sleep(1)
    return time.monotonic() - started


def funnel_check(tenants) -> tuple[list[str], list[str]]:
    ids = [t.pk for t in tenants]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tenant_id, stage, status, count(*) FROM crm_contact "
            "WHERE tenant_id = ANY(%s) GROUP BY 1, 2, 3",
            [ids],
        )
        recount = {(t, s, st): n for t, s, st, n in cursor.fetchall()}
        cursor.execute(
            "SELECT tenant_id, stage, status, count FROM lifecycle_funnelcount "
            "WHERE tenant_id = ANY(%s) AND count > 0",
            [ids],
        )
        stored = {(t, s, st): n for t, s, st, n in cursor.fetchall()}
    failures = []
    for tenant in tenants:
        wrong = sorted(
            f"{stage}/{status} stored {stored.get((t, stage, status), 0):,} "
            f"counted {recount.get((t, stage, status), 0):,}"
            for t, stage, status in set(recount) | set(stored)
            if t == tenant.pk and stored.get((t, stage, status)) != recount.get((t, stage, status))
        )
        if wrong:
            failures.append(f"funnel counts of {tenant.slug}: " + "; ".join(wrong))
    total = sum(recount.values())
    lines = [
        f"  funnel counts: {len(tenants)} companies, {total:,} contacts: "
        + ("stored = recount" if not failures else f"{len(failures)} companies differ")
    ]
    return lines, failures


def _email_ok(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def import_check(plan, since, *, existing: int) -> tuple[list[str], list[str]]:
    job = import_job(plan, since)
    if job is None:
        return [], ["no import was started (see the load generator's log)"]
    rows = list(csv.reader(io.StringIO(plan.import_content.decode())))[1:]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone, name, email FROM crm_contact WHERE tenant_id = %s",
            [plan.import_tenant.pk],
        )
        stored = {phone: (name, email) for phone, name, email in cursor.fetchall()}
    known = {f"139{n:08d}" for n in range(1, existing + 1)}  # the company's contacts before
    refused = [row for row in rows if not _email_ok(row[2])]
    accepted = [row for row in rows if _email_ok(row[2])]
    updates = creates = 0
    wrong = []
    for name, phone, email, *_rest in accepted:
        phone, email = normalize_phone(phone), normalize_email(email)
        name_now, email_now = stored.get(phone, (None, None))
        if phone in known:  # an update fills what was empty (the email), keeps the rest
            updates += 1
            if email_now != email or not (name_now or "").startswith("老客户"):
                wrong.append(f"{phone}: {name_now} {email_now}, not filled with {email}")
        else:
            creates += 1
            if (name_now, email_now) != (name, email):
                wrong.append(f"{phone}: {name_now} {email_now}, not {name} {email}")
    failures = []
    if job.status != ImportJob.DONE:
        failures.append(f"the import ended {job.status} ({job.failure or 'no reason given'})")
    if wrong:
        failures.append(f"{len(wrong):,} rows not as in the file, e.g. " + "; ".join(wrong[:3]))
    leaked = [row[1] for row in refused if normalize_phone(row[1]) in stored]
    if leaked:
        failures.append(f"{len(leaked):,} refused rows were written anyway")
    have = Contact.objects.for_tenant(plan.import_tenant).count()
    if have != existing + creates:
        failures.append(f"the company has {have:,} contacts, not {existing + creates:,}")
    counted = (job.created, job.updated, job.skipped, job.merged, job.failed)
    if counted != (creates, updates, 0, 0, len(refused)):
        failures.append(
            "the job counted created/updated/unchanged/merged/failed "
            + "/".join(f"{n:,}" for n in counted)
            + f", the file says {creates:,}/{updates:,}/0/0/{len(refused):,}"
        )
    took = (job.finished_at - job.created_at).total_seconds() if job.finished_at else 0
    lines = [
        f"  import: {len(rows):,} rows, {job.created:,} created, {job.updated:,} updated, "
        f"{job.failed:,} refused (bad email), {took:.0f} s from upload to done: "
        + ("exactly the file" if not failures else "NOT the file")
    ]
    return lines, failures


def bulk_check(plan, since) -> tuple[list[str], list[str]]:
    big, _admin = plan.companies[0]
    tagged = Contact.objects.for_tenant(big).filter(contact_tags__tag=plan.bulk_tag)
    counted = tagged.values_list("stage", "status").annotate(n=Count("pk"))
    where = {f"{stage}/{status}": n for stage, status, n in counted}
    history = StageChange.objects.for_tenant(big).filter(
        contact__in=tagged, channel="bulk", created_at__gte=since
    )
    moved = history.filter(from_stage=plan.bulk_from, to_stage=plan.bulk_to).count()
    others = history.count() - moved
    size = sum(where.values())
    failures = []
    if where != {f"{plan.bulk_to}/active": size}:
        failures.append(f"the bulk move's contacts are at {where}, not all {plan.bulk_to}")
    if moved != size or others:
        failures.append(f"{moved:,} history rows of the bulk move for {size:,} contacts"
                        f" (and {others} other bulk rows)")  # fmt: skip
    lines = [
        f"  bulk move: {size:,} contacts {plan.bulk_from} → {plan.bulk_to}, {moved:,} history "
        "rows: " + ("exact" if not failures else "NOT exact")
    ]
    return lines, failures


TRACEBACK = re.compile(r"^Traceback \(most recent call last\):$", re.M)


def logs_check(app) -> tuple[list[str], list[str], list[str]]:
    """(lines, failures, excerpts): 5xx answers, tracebacks and timeouts in gunicorn's log, task
    errors in the worker's and beat's; the excerpts are what to read."""
    access = app.access_log.read_text().splitlines()
    server_errors = [line for line in access if line[:1] == "5"]
    failures, excerpts = [], []
    if server_errors:
        failures.append(f"{len(server_errors)} answers 5xx: " + "; ".join(server_errors[:5]))
    for log in (app.error_log, app.worker_log, app.beat_log):
        text = log.read_text(errors="replace")
        found = TRACEBACK.findall(text)
        timeouts = text.count("WORKER TIMEOUT")
        errors = [line for line in text.splitlines() if "ERROR/" in line or "[ERROR]" in line]
        if found or timeouts or errors:
            failures.append(
                f"{log.name}: {len(found)} tracebacks, {timeouts} worker timeouts, "
                f"{len(errors)} error lines"
            )
            excerpts.append(_excerpt(log, text))
    lines = [f"  logs: {len(access):,} requests served, {len(server_errors)} answered 5xx"]
    return lines, failures, excerpts


def _excerpt(log: Path, text: str) -> str:
    """The first traceback (or error lines) of a log, with the lines just before it."""
    match = TRACEBACK.search(text)
    if match is None:
        lines = [line for line in text.splitlines() if "ERROR" in line]
        return f"--- {log}\n" + "\n".join(lines[:20])
    start = text.rfind("\n", 0, max(text.rfind("\n", 0, match.start()) - 1, 0))
    end = text.find("\n\n", match.end())
    return f"--- {log}\n" + text[max(start, 0) : end if end > 0 else match.end() + 4000].strip()
