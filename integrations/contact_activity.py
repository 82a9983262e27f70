"""A contact's activity as its page shows it (the grade panel and the tasks panel), for the
API's contact answers: status (new, active, loyal, at risk, churned, quiet), when it last did
something and was last contacted, its open tasks. One query for a whole page of contacts."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from crm.models import Tenant
from grading.models import ActivityStatus
from grading.selectors import settings_of

# Per contact: its grade's status and figures (none until it did something), its latest
# activity and its open tasks, each an index walk (activity_contact, task_contact).
ACTIVITY_OF = """
SELECT c.id, c.created_at, g.status, g.last_seen_at, g.paid, g.payments,
  (SELECT a.occurred_at FROM activities_activity a
    WHERE a.tenant_id = c.tenant_id AND a.contact_id = c.id
    ORDER BY a.occurred_at DESC, a.id DESC LIMIT 1),
  (SELECT count(*) FROM activities_task t
    WHERE t.tenant_id = c.tenant_id AND t.contact_id = c.id AND t.done_at IS NULL)
FROM crm_contact c
LEFT JOIN grading_contactgrade g ON g.tenant_id = c.tenant_id AND g.contact_id = c.id
WHERE c.tenant_id = %s AND c.id = ANY(%s::bigint[])
"""


def contact_activity_of(*, tenant: Tenant, contact_ids: list[int]) -> dict[int, dict]:
    """{contact id: its activity, as ActivityStatusOut shows it}."""
    if not contact_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(ACTIVITY_OF, [tenant.pk, [int(pk) for pk in contact_ids]])
        rows = cursor.fetchall()
    now, settings = timezone.now(), None
    found = {}
    for pk, created_at, status, last_seen_at, paid, payments, last_activity_at, open_tasks in rows:
        if status is None:  # never did anything: new while young, then quiet (as the page says)
            settings = settings or settings_of(tenant=tenant)
            young = created_at >= now - timedelta(days=settings.new_days)
            status = ActivityStatus.NEW if young else ActivityStatus.DORMANT
        found[pk] = {
            "status": status, "status_label": str(ActivityStatus(status).label),
            "at_risk": status == ActivityStatus.AT_RISK, "last_seen_at": last_seen_at,
            "last_activity_at": last_activity_at, "open_tasks": open_tasks,
            "paid": paid or 0, "payments": payments or 0,
        }  # fmt: skip
    return found
