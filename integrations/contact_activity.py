"""A contact's activity as its page shows it (the grade panel and the tasks panel), for the
API's contact answers: status (new, active, loyal, at risk, churned, quiet), when it last did
something and was last contacted, its open tasks. One query for a whole page of contacts."""

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from crm.models import Tenant
from grading.models import ActivityStatus
from grading.selectors import settings_of

# Per contact of the page (already read, scoped, by the caller): its grade's status and figures
# (none until it did something), its latest activity and its open tasks, each an index walk
# (activity_contact, task_contact) from the company. The contacts table is not read again.
ACTIVITY_OF = """
SELECT ids.id, g.status, g.last_seen_at, g.paid, g.payments,
  (SELECT a.occurred_at FROM activities_activity a
    WHERE a.tenant_id = %(tenant)s AND a.contact_id = ids.id
    ORDER BY a.occurred_at DESC, a.id DESC LIMIT 1),
  (SELECT count(*) FROM activities_task t
    WHERE t.tenant_id = %(tenant)s AND t.contact_id = ids.id AND t.done_at IS NULL)
FROM unnest(%(ids)s::bigint[]) AS ids(id)
LEFT JOIN grading_contactgrade g ON g.tenant_id = %(tenant)s AND g.contact_id = ids.id
"""


def contact_activity_of(*, tenant: Tenant, created: dict[int, datetime]) -> dict[int, dict]:
    """{contact id: its activity, as ActivityStatusOut shows it}, for the contacts `created`
    names (id: when it was created), read in the company already."""
    if not created:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(ACTIVITY_OF, {"tenant": tenant.pk, "ids": [int(pk) for pk in created]})
        rows = cursor.fetchall()
    now, settings = timezone.now(), None
    found = {}
    for pk, status, last_seen_at, paid, payments, last_activity_at, open_tasks in rows:
        if status is None:  # never did anything: new while young, then quiet (as the page says)
            settings = settings or settings_of(tenant=tenant)
            young = created[pk] >= now - timedelta(days=settings.new_days)
            status = ActivityStatus.NEW if young else ActivityStatus.DORMANT
        found[pk] = {
            "status": status, "status_label": str(ActivityStatus(status).label),
            "at_risk": status == ActivityStatus.AT_RISK, "last_seen_at": last_seen_at,
            "last_activity_at": last_activity_at, "open_tasks": open_tasks,
            "paid": paid or 0, "payments": payments or 0,
        }  # fmt: skip
    return found
