"""Marketers read the funnel, where people stall and how long they stay; the figures are stored
by tasks, recomputed after every change, and right."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact
from crm.services import ContactData, contact_create
from lifecycle import scheduling
from lifecycle.analytics import (
    dashboard_figures,
    funnel_backfill_snapshots,
    funnel_recompute,
    funnel_snapshot,
    funnel_stats_compute,
    funnel_stats_recompute,
)
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.models import FunnelCount, FunnelSnapshot, FunnelStats, StageChange
from lifecycle.panels import sparkline
from lifecycle.services import contact_create_at_stage, contact_mark_lost, contact_stage_move
from tagging.services import contact_tag_add
from tests.factories import ContactFactory


def stored(tenant):
    return {(row.stage, row.status): row.count for row in FunnelCount.objects.for_tenant(tenant)}


def test_counts_are_replaced_not_incremented(tenant):
    ContactFactory.create_batch(3, tenant=tenant, stage="lead")
    funnel_recompute(tenant=tenant)
    first = stored(tenant)
    funnel_recompute(tenant=tenant)
    assert stored(tenant) == first
    assert first[("lead", "active")] == 3 and len(first) == 14


def test_a_committed_change_recomputes_counts_stats_and_audiences(
    tenant, sales, django_capture_on_commit_callbacks
):
    contact = ContactFactory(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        contact_stage_move(contact=contact, actor=sales, to_stage="mql")
    assert stored(tenant)[("mql", "active")] == 1
    assert FunnelStats.objects.for_tenant(tenant).get().data["reached"]["mql"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        contact_mark_lost(contact=contact, actor=sales, lost_reason="unreachable")
    assert stored(tenant)[("mql", "lost")] == 1


def _move(contact, to_stage, at):
    StageChange.objects.create(
        tenant=contact.tenant, contact=contact, from_stage=contact.stage, to_stage=to_stage,
        from_status="active", to_status="active", channel="ui", created_at=at,
    )  # fmt: skip


def test_conversion_time_in_stage_and_losses_come_from_the_history(tenant):
    start = timezone.now() - timedelta(days=30)
    # four subscribers; three became leads (after 1, 2 and 3 days); one lead reached MQL
    people = [ContactFactory(tenant=tenant, created_at=start) for _ in range(4)]
    for days, person in zip((1, 2, 3), people, strict=False):
        _move(person, "lead", start + timedelta(days=days))
    _move(people[0], "mql", start + timedelta(days=11))
    for person, furthest in zip(people, ("mql", "lead", "lead", "subscriber"), strict=True):
        Contact.objects.for_tenant(tenant).filter(pk=person.pk).update(furthest_stage=furthest)
    lost = ContactFactory(tenant=tenant, stage="lead", furthest_stage="lead", status="lost",
                          lost_reason="churned")  # fmt: skip

    stats = funnel_stats_compute(tenant=tenant, contacts=Contact.objects.for_tenant(tenant))

    assert stats["reached"]["subscriber"] == 5
    assert stats["reached"]["lead"] == 4 and stats["reached"]["mql"] == 1
    assert stats["conversion"]["subscriber"] == pytest.approx(4 / 5)
    assert stats["conversion"]["lead"] == pytest.approx(1 / 4)
    subscriber = stats["time_in_stage"]["subscriber"]
    assert subscriber["n"] == 3 and subscriber["p50"] == pytest.approx(2 * 86400, rel=1e-3)
    assert stats["time_in_stage"]["lead"]["p50"] == pytest.approx(10 * 86400, rel=1e-3)
    assert stats["lost"] == {"lead": {"churned": 1}}
    assert lost.pk


def test_the_daily_snapshot_and_the_backfill_give_the_trend(tenant):
    contact = ContactFactory(tenant=tenant, created_at=timezone.now() - timedelta(days=10))
    _move(contact, "lead", timezone.now() - timedelta(days=5))
    funnel_backfill_snapshots(tenant=tenant, days=10)
    rows = FunnelSnapshot.objects.for_tenant(tenant).order_by("day")
    lead = [r.active for r in rows if r.stage == "lead"]
    subscriber = [r.active for r in rows if r.stage == "subscriber"]
    assert lead[:4] == [0, 0, 0, 0] and lead[-1] == 1
    assert subscriber[-1] == 0
    today = timezone.localdate()
    funnel_snapshot(tenant=tenant, day=today)
    funnel_snapshot(tenant=tenant, day=today)
    assert FunnelSnapshot.objects.for_tenant(tenant).filter(day=today).count() == 7


def test_the_dashboard_reads_stored_figures_without_counting_the_tenant(
    marketer_client, tenant, sales
):
    ContactFactory.create_batch(4, tenant=tenant, stage="lead")
    funnel_recompute(tenant=tenant)
    funnel_stats_recompute(tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        html = marketer_client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    counting = [
        q["sql"] for q in queries.captured_queries
        if "crm_contact" in q["sql"] and ("COUNT(" in q["sql"].upper() or "GROUP BY" in q["sql"])
    ]  # fmt: skip
    assert counting == []
    assert "Counts as of" in html and "Conversion and times as of" in html


def test_the_dashboard_narrows_to_an_owner(marketer_client, tenant, sales, marketer):
    ContactFactory.create_batch(2, tenant=tenant, stage="lead", owner=sales)
    ContactFactory.create_batch(5, tenant=tenant, stage="lead", owner=marketer)
    funnel_recompute(tenant=tenant)
    whole = dashboard_figures(tenant=tenant)
    assert whole["counts"]["lead"]["active"] == 7
    narrowed = dashboard_figures(tenant=tenant, owner=sales)
    assert narrowed["counts"]["lead"]["active"] == 2 and narrowed["narrowed"]
    response = marketer_client.get(reverse("dashboard", args=[tenant.slug]), {"owner": sales.pk})
    assert "Computed just now for this selection." in response.content.decode()


def test_the_dashboard_refuses_an_inverted_date_range_clearly(marketer_client, tenant):
    response = marketer_client.get(
        reverse("dashboard", args=[tenant.slug]), {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert "The start date is after the end date." in response.content.decode()


def test_the_funnel_panel_refreshes_alone(marketer_client, tenant):
    response = marketer_client.get(reverse("funnel_panel", args=[tenant.slug]))
    html = response.content.decode()
    assert 'id="funnel-panel"' in html and "<html" not in html
    assert 'hx-trigger="every 60s"' in html


# --- scheduling ------------------------------------------------------------------------------


@pytest.fixture
def with_a_broker(settings):
    """The production path: tasks go to a broker (mocked here), debounced through the cache."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.clear()
    with mock.patch("celery.app.task.Task.apply_async") as publish:
        yield publish
    cache.clear()


def test_a_burst_of_changes_enqueues_each_recompute_once(tenant, with_a_broker):
    for _ in range(100):
        scheduling.schedule_recomputes(tenant.pk)
    # funnel, audiences, statistics: once each, for this tenant
    assert [c.kwargs["args"] for c in with_a_broker.call_args_list] == [[tenant.pk]] * 3
    assert {c.kwargs["countdown"] for c in with_a_broker.call_args_list} == {2, 3, 60}


def test_a_running_recompute_lets_the_next_change_schedule_again(tenant, with_a_broker):
    scheduling.schedule_recomputes(tenant.pk)
    scheduling.task_started("lifecycle.tasks.recompute_funnel", tenant.pk)
    scheduling.schedule_recomputes(tenant.pk)
    assert with_a_broker.call_count == 4


def test_a_bulk_move_of_many_contacts_schedules_one_recompute(
    tenant, sales, with_a_broker, django_capture_on_commit_callbacks
):
    people = ContactFactory.create_batch(300, tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        contacts_bulk_move(tenant=tenant, actor=sales, contacts=[p.pk for p in people],
                           to_stage="lead")  # fmt: skip
    funnel_calls = [c for c in with_a_broker.call_args_list if c.kwargs.get("countdown") == 2]
    assert len(funnel_calls) == 1


def test_a_broker_outage_never_fails_or_undoes_a_move(
    tenant, sales, settings, django_capture_on_commit_callbacks, caplog
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    contact = ContactFactory(tenant=tenant)
    funnel_recompute(tenant=tenant)
    outage = OSError("Connection refused")
    with (
        mock.patch("celery.app.task.Task.apply_async", side_effect=outage),
        mock.patch.object(cache, "add", side_effect=outage),
        django_capture_on_commit_callbacks(execute=True),
    ):
        contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    assert Contact.objects.for_tenant(tenant).get(pk=contact.pk).stage == "sql"
    assert "Could not enqueue lifecycle.tasks.recompute_funnel" in caplog.text
    assert "beat's backstop will catch up" in caplog.text
    assert stored(tenant)[("sql", "active")] == 0  # stale until the backstop runs
    from lifecycle.tasks import recompute_everything

    settings.CELERY_TASK_ALWAYS_EAGER = True
    recompute_everything()
    assert stored(tenant)[("sql", "active")] == 1


def test_the_dashboard_loads_recent_contacts_after_the_figures(marketer_client, tenant):
    ContactFactory(tenant=tenant, name="最近的")
    page = marketer_client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    assert "最近的" not in page and 'hx-trigger="load"' in page
    assert "Narrow down by owner, tag or date" in page
    url = reverse("dashboard_recent", args=[tenant.slug])
    fragment = marketer_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "最近的" in fragment and "<html" not in fragment
    whole = marketer_client.get(url).content.decode()  # without JavaScript: a page of its own
    assert "最近的" in whole and "<html" in whole


def test_renamed_stages_show_at_once_though_labels_are_cached(admin_client, tenant):
    ContactFactory(tenant=tenant, stage="lead")
    board = reverse("board", args=[tenant.slug])
    assert "Lead" in admin_client.get(board).content.decode()
    admin_client.post(reverse("stage_settings", args=[tenant.slug]), {"lead-label": "02-潜客"})
    assert "02-潜客" in admin_client.get(board).content.decode()


def test_deleting_a_contact_updates_the_figures(
    admin_client, sales_client, tenant, django_capture_on_commit_callbacks
):
    contact = ContactFactory(tenant=tenant, stage="lead")
    funnel_recompute(tenant=tenant)
    url = reverse("contact_delete", args=[tenant.slug, contact.pk])
    assert sales_client.post(url, {"confirm": "yes"}).status_code == 403
    assert "Delete “" in admin_client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"confirm": "yes"})
    assert not Contact.objects.for_tenant(tenant).exists()
    assert stored(tenant)[("lead", "active")] == 0


def test_a_recompute_the_broker_refused_is_asked_for_again_by_the_next_change(
    tenant, with_a_broker
):
    """The burst's key is let go when the send fails: the next change tries again at once,
    instead of waiting for the key to expire."""
    with_a_broker.side_effect = OSError("Connection refused")
    assert scheduling.schedule_recomputes(tenant.pk) == 0
    with_a_broker.side_effect = None
    assert scheduling.schedule_recomputes(tenant.pk) == 3


def test_a_narrowed_dashboards_stage_opens_the_contacts_it_counted(
    sales_client, tenant, sales, marketer, make_tag
):
    hot = make_tag("意向", "高")
    mine = ContactFactory.create_batch(2, tenant=tenant, stage="sql", owner=sales)
    ContactFactory.create_batch(3, tenant=tenant, stage="sql", owner=marketer)
    contact_tag_add(contact=mine[0], tag=hot, actor=sales)
    dashboard = reverse("dashboard", args=[tenant.slug])
    html = sales_client.get(dashboard, {"owner": "me", "tag": hot.pk}).content.decode()
    link = re.search(r'<a href="([^"]*stage=sql[^"]*)"', html).group(1).replace("&amp;", "&")
    assert "owner=me" in link and f"tag_any={hot.pk}" in link
    listed = sales_client.get(link)
    assert [c.pk for c in listed.context["page"].items] == [mine[0].pk]  # the 1 the row counted
    by_date = sales_client.get(dashboard, {"since": "2020-01-01"}).content.decode()
    assert "stage=sql" not in by_date  # the list cannot narrow by date: the row has no link


def test_a_trend_line_shows_a_months_change_without_magnifying_noise():
    def heights(values):  # how far up each point is, 0 (bottom) to 22 (top)
        return [round(23 - float(point.split(",")[1]), 1) for point in sparkline(values).split()]

    assert heights([0, 5]) == [0.0, 22.0]  # from nothing: the whole height
    assert heights([100, 105]) == [11.5, 22.0]  # a 5% gain shows (scaled from zero: 21 → 22)
    assert heights([1000, 1001]) == [21.8, 22.0]  # a change of one in a thousand stays flat
    assert heights([7, 7, 7])[0] == heights([7, 7, 7])[-1] and sparkline([3]) == ""


def test_a_contact_added_in_any_stage_updates_the_stored_counts(
    tenant, sales, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(tenant=tenant, actor=sales, data=ContactData(name="新来的"))
    assert stored(tenant)[("subscriber", "active")] == 1
    with django_capture_on_commit_callbacks(execute=True):
        contact_create_at_stage(tenant=tenant, actor=sales, data=ContactData(name="直接付费"),
                                stage="customer")  # fmt: skip
    assert stored(tenant)[("customer", "active")] == 1
    assert FunnelStats.objects.for_tenant(tenant).get().data["reached"]["customer"] == 1
