"""Writes of grading: the company's tiers and thresholds, and the recompute that grades its
contacts from what they paid and did."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.services import tasks_for_customers_at_risk
from crm.hooks import change_recorded
from crm.models import Contact, Membership, Tenant
from crm.permissions import can_edit_company_settings
from crm.queueing import enqueue_on_commit
from crm.services import NotAllowed, ServiceError
from lifecycle.scheduling import tenant_changed

from .models import PAYMENT_KIND, ContactGrade, GradeChange, GradingSettings, Tier
from .selectors import distribution_changed, scheme_changed, settings_of

# Named, not imported: tasks import this module (crm.queueing says why).
RECOMPUTE_ALL = "grading.tasks.recompute_grades"
RECOMPUTE_SOME = "grading.tasks.recompute_contact_grades"


def _require_admin(actor: Membership | None) -> None:
    if not can_edit_company_settings(actor):
        raise NotAllowed(_("Only an admin can change how customers are graded."))


def _checked(obj) -> None:
    """The model's own limits, as a message the admin can act on."""
    try:
        obj.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ServiceError(" ".join(m for ms in error.message_dict.values() for m in ms)) from None


@transaction.atomic
def grading_settings_save(
    *,
    tenant: Tenant,
    actor: Membership | None,
    window_days: int | None,
    new_days: int,
    loyal_payments: int,
    at_risk_days: int,
    churned_days: int,
) -> GradingSettings:
    _require_admin(actor)
    if churned_days <= at_risk_days:
        raise ServiceError(_("“Churned after” must be longer than “at risk after”."))
    settings = settings_of(tenant=tenant)
    settings.window_days = window_days
    settings.new_days = new_days
    settings.loyal_payments = loyal_payments
    settings.at_risk_days = at_risk_days
    settings.churned_days = churned_days
    _checked(settings)
    settings.save()
    _scheme_saved(tenant)
    return settings


@transaction.atomic
def tier_save(
    *,
    tenant: Tenant,
    actor: Membership | None,
    name: str,
    threshold: Decimal,
    entitlements: str = "",
    discount_percent: Decimal = Decimal("0"),
    included_sessions: int = 0,
    tier: Tier | None = None,
) -> Tier:
    """Adds a tier (or changes `tier`); every contact is graded again once it is saved."""
    _require_admin(actor)
    tier = tier or Tier(tenant=tenant)
    tier.name = name.strip()
    tier.threshold = threshold
    tier.entitlements = entitlements.strip()
    tier.discount_percent = discount_percent
    tier.included_sessions = included_sessions
    if not tier.name:
        raise ServiceError(_("Give the tier a name."))
    _checked(tier)
    others = Tier.objects.for_tenant(tenant).exclude(pk=tier.pk)
    if others.filter(name=tier.name).exists():
        raise ServiceError(_("There is already a tier called “%(name)s”.") % {"name": tier.name})
    if others.filter(threshold=tier.threshold).exists():
        raise ServiceError(_("Another tier already starts at ¥%(amount)s.")
                           % {"amount": tier.threshold})  # fmt: skip
    try:
        with transaction.atomic():
            tier.save()
    except IntegrityError:  # the same name or threshold, saved a moment ago by someone else
        raise ServiceError(_("Another tier has that name or threshold.")) from None
    _scheme_saved(tenant)
    return tier


@transaction.atomic
def tier_delete(*, tier: Tier, actor: Membership | None) -> None:
    """Removes a tier; its customers fall to the tier below (the recompute says so)."""
    _require_admin(actor)
    try:
        with transaction.atomic():
            Tier.objects.for_tenant(tier.tenant).filter(pk=tier.pk).delete()
    except ProtectedError:
        raise ServiceError(
            _("An audience is built on “%(name)s”: change the audience first.")
            % {"name": tier.name}
        ) from None
    _scheme_saved(tier.tenant)


def _scheme_saved(tenant: Tenant) -> None:
    """The scheme changed: pages read it afresh (now, and again once it commits) and every
    contact is graded again."""
    scheme_changed(tenant=tenant)
    transaction.on_commit(lambda: scheme_changed(tenant=tenant))
    grades_need_recompute(tenant=tenant)


def grades_need_recompute(*, tenant: Tenant, contact_ids: list[int] | None = None) -> None:
    """After the change commits, grade the company again (or just `contact_ids`: a payment
    or an event grades only its contact). The whole company's runs are debounced: an admin
    saving five tiers grades everyone once."""
    if contact_ids is None:
        enqueue_on_commit(RECOMPUTE_ALL, tenant.pk, tenant_id=tenant.pk, debounce=5)
    else:
        enqueue_on_commit(RECOMPUTE_SOME, tenant.pk, list(contact_ids), tenant_id=tenant.pk)


# --- the recompute --------------------------------------------------------------------------

# One statement grades every contact that did something (or held a grade), set-based: what
# each paid in the window and in all, its payments, its last payment and last event, then its
# tier (the highest threshold it reaches) and status. Rows that changed are written, and each
# tier or status change is recorded with the figures behind it.
RECOMPUTE = """
WITH seen AS (
  SELECT e.contact_id,
         sum(e.amount) FILTER (WHERE e.kind = %(payment)s AND e.amount > 0
                               AND e.occurred_at >= %(since)s) AS paid,
         count(*) FILTER (WHERE e.kind = %(payment)s AND e.amount > 0) AS payments,
         max(e.occurred_at) FILTER (WHERE e.kind = %(payment)s AND e.amount > 0) AS last_payment_at,
         max(e.occurred_at) AS last_seen_at
  FROM tagging_event e
  WHERE e.tenant_id = %(tenant)s AND e.occurred_at <= %(now)s {events_of}
  GROUP BY e.contact_id
),
current AS (
  SELECT g.* FROM grading_contactgrade g WHERE g.tenant_id = %(tenant)s {grades_of}
),
tiers AS (  -- each tier with where the next one starts
  SELECT t.id, t.threshold, lead(t.threshold) OVER (ORDER BY t.threshold) AS next_threshold
  FROM grading_tier t WHERE t.tenant_id = %(tenant)s
),
figures AS (
  SELECT coalesce(s.contact_id, g.contact_id) AS contact_id,
         coalesce(s.paid, 0) AS paid, coalesce(s.payments, 0) AS payments,
         s.last_payment_at, s.last_seen_at,
         g.id AS grade_id, g.tier_id AS old_tier_id, g.status AS old_status,
         g.status_since AS old_status_since, g.paid AS old_paid, g.payments AS old_payments,
         g.last_payment_at AS old_last_payment_at, g.last_seen_at AS old_last_seen_at
  FROM seen s FULL JOIN current g ON g.contact_id = s.contact_id
),
graded AS (
  SELECT f.*, t.id AS tier_id,
         CASE
           WHEN f.last_seen_at IS NULL THEN
             CASE WHEN c.created_at >= %(new_since)s THEN 'new' ELSE 'dormant' END
           -- a customer (who paid) drifts away: at risk, then churned
           WHEN f.payments > 0 AND f.last_seen_at < %(churned_before)s THEN 'churned'
           WHEN f.payments > 0 AND f.last_seen_at < %(at_risk_before)s THEN 'at_risk'
           -- one who never paid just goes quiet
           WHEN f.last_seen_at < %(at_risk_before)s THEN 'dormant'
           WHEN f.payments >= %(loyal_payments)s THEN 'loyal'
           WHEN c.created_at >= %(new_since)s THEN 'new'
           ELSE 'active'
         END AS status
  FROM figures f
  JOIN crm_contact c ON c.id = f.contact_id AND c.tenant_id = %(tenant)s
  LEFT JOIN tiers t ON f.paid > 0 AND f.paid >= t.threshold
                   AND (t.next_threshold IS NULL OR f.paid < t.next_threshold)
),
changed AS (
  SELECT * FROM graded g
  WHERE g.grade_id IS NULL
     OR (g.old_tier_id, g.old_status, g.old_paid, g.old_payments, g.old_last_payment_at,
         g.old_last_seen_at)
        IS DISTINCT FROM (g.tier_id, g.status, g.paid, g.payments, g.last_payment_at,
                          g.last_seen_at)
),
written AS (
  INSERT INTO grading_contactgrade AS w
         (tenant_id, contact_id, tier_id, paid, payments, last_payment_at, last_seen_at, status,
          status_since, computed_at)
  SELECT %(tenant)s, contact_id, tier_id, paid, payments, last_payment_at, last_seen_at, status,
         CASE WHEN status IS DISTINCT FROM old_status THEN %(now)s ELSE old_status_since END,
         %(now)s
  FROM changed
  ON CONFLICT (tenant_id, contact_id) DO UPDATE SET
    tier_id = excluded.tier_id, paid = excluded.paid, payments = excluded.payments,
    last_payment_at = excluded.last_payment_at, last_seen_at = excluded.last_seen_at,
    status = excluded.status, status_since = excluded.status_since,
    computed_at = excluded.computed_at
  RETURNING w.contact_id
),
tier_changes AS (
  INSERT INTO grading_gradechange
         (tenant_id, contact_id, what, from_value, to_value, to_tier_id, paid, window_days,
          last_seen_at, created_at)
  SELECT %(tenant)s, ch.contact_id, 'tier', coalesce(old.name, ''), coalesce(new.name, ''),
         ch.tier_id, ch.paid, %(window_days)s, ch.last_seen_at, %(now)s
  FROM changed ch
  LEFT JOIN grading_tier old ON old.id = ch.old_tier_id
  LEFT JOIN grading_tier new ON new.id = ch.tier_id
  WHERE ch.old_tier_id IS DISTINCT FROM ch.tier_id
  RETURNING id
),
status_changes AS (
  INSERT INTO grading_gradechange
         (tenant_id, contact_id, what, from_value, to_value, paid, window_days, last_seen_at,
          created_at)
  SELECT %(tenant)s, ch.contact_id, 'status', coalesce(ch.old_status, ''), ch.status, ch.paid,
         %(window_days)s, ch.last_seen_at, %(now)s
  FROM changed ch
  WHERE ch.old_status IS DISTINCT FROM ch.status
  RETURNING contact_id, to_value
)
SELECT (SELECT count(*) FROM written), ARRAY(SELECT id FROM tier_changes ORDER BY 1),
       (SELECT count(*) FROM status_changes),
       ARRAY(SELECT contact_id FROM status_changes WHERE to_value = 'at_risk' ORDER BY 1)
"""


ANALYZE_AFTER = 10_000  # grades written in one run beyond which the table's statistics are renewed
EVER = datetime(1970, 1, 1, tzinfo=UTC)  # payments since: "over the customer's life"


@dataclass(frozen=True)
class Recomputed:
    written: int  # grades written (new or changed)
    tier_changes: int
    status_changes: int
    turned_at_risk: list[int]


@transaction.atomic
def grades_recompute(
    *, tenant: Tenant, contact_ids: list[int] | None = None, now: datetime | None = None
) -> Recomputed:
    """Grades the company's contacts (or just `contact_ids`) as of `now`: idempotent, and one
    at a time per company (an advisory lock), so two runs never record a change twice."""
    now = now or timezone.now()
    settings = settings_of(tenant=tenant)
    window = settings.window_days
    params = {
        "tenant": tenant.pk,
        "payment": PAYMENT_KIND,
        "now": now,
        "since": now - timedelta(days=window) if window else EVER,
        "new_since": now - timedelta(days=settings.new_days),
        "at_risk_before": now - timedelta(days=settings.at_risk_days),
        "churned_before": now - timedelta(days=settings.churned_days),
        "loyal_payments": settings.loyal_payments,
        "window_days": window,
        "ids": contact_ids or [],
    }
    of = contact_ids is not None
    sql = RECOMPUTE.format(
        events_of="AND e.contact_id = ANY(%(ids)s::bigint[])" if of else "",
        grades_of="AND g.contact_id = ANY(%(ids)s::bigint[])" if of else "",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('grading'), %s)", [tenant.pk])
        cursor.execute(sql, params)
        written, tier_changes, statuses, at_risk = cursor.fetchone()
    tiers = len(tier_changes)
    if written:
        transaction.on_commit(lambda: distribution_changed(tenant=tenant))
    if written > ANALYZE_AFTER:  # a company graded at once: the planner learns the new rows
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE grading_contactgrade")
    if tiers:  # audiences gated on a tier follow (the funnel's figures do not hang on tiers)
        tenant_changed(tenant.pk, funnel=False)
        # the company's systems hear of each real change (webhooks: contact.tier_changed)
        changes = GradeChange.objects.for_tenant(tenant).filter(
            pk__in=RawSQL("SELECT unnest(%s::bigint[])", [list(tier_changes)])
        )
        change_recorded(tenant=tenant, event="contact.tier_changed",
                        rows=changes.values_list("contact_id", "id", "created_at"))  # fmt: skip
    if at_risk:  # the company's task rules for customers drifting away
        tasks_for_customers_at_risk(tenant=tenant, contact_ids=list(at_risk))
    return Recomputed(written, tiers, statuses, list(at_risk))


def grades_merged(*, survivor: Contact, merged: Contact, actor: Membership | None) -> None:
    """A merge (crm.hooks.contacts_merging): the merged contact's grade goes with it; the
    survivor is graded again, with the events it now holds, once the merge commits."""
    ContactGrade.objects.for_tenant(survivor.tenant).filter(contact=merged).delete()
    transaction.on_commit(lambda: distribution_changed(tenant=survivor.tenant))
    grades_need_recompute(tenant=survivor.tenant, contact_ids=[survivor.pk])


def grades_deleted(*, tenant: Tenant) -> None:
    """Contacts were deleted (crm.hooks.contacts_deleted), their grades with them."""
    transaction.on_commit(lambda: distribution_changed(tenant=tenant))


def grades_after_event(*, tenant: Tenant, event) -> None:
    """An event was logged (tagging.rules.event_logged): its contact is graded again."""
    grades_need_recompute(tenant=tenant, contact_ids=[event.contact_id])
