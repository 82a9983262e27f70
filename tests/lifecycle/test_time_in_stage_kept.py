"""The company's time in stage is kept contact by contact: after any change, a recompute reads
again only the contacts whose history changed (the database names them, whatever wrote the
history) and gives exactly what a count from scratch gives."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.celery import app as celery_app
from crm.merges import contact_merge
from crm.models import Contact
from crm.services import ContactData, contact_create, contact_delete
from lifecycle.analytics import _rank_place, funnel_stats_compute, funnel_stats_recompute
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.models import FunnelStats, HistoryChanged, StageChange, StageSpan
from lifecycle.services import contact_mark_lost, contact_reopen, contact_stage_move
from lifecycle.stages import ORDER
from lifecycle.tasks import rebuild_funnel_stats
from tests.factories import ContactFactory


def _history(contact, stages, start, hours):
    """`contact` created at `start`, then entering each of `stages` after so many hours."""
    at, previous = start, contact.stage
    for stage, wait in zip(stages, hours, strict=True):
        at += timedelta(hours=wait)
        StageChange.objects.create(
            tenant=contact.tenant, contact=contact, from_stage=previous, to_stage=stage,
            from_status="active", to_status="active", channel="ui", created_at=at,
        )  # fmt: skip
        previous = stage
    Contact.objects.for_tenant(contact.tenant).filter(pk=contact.pk).update(
        stage=previous, furthest_stage=previous
    )


@pytest.fixture
def company(tenant):
    """Forty contacts whose stays in each stage run from minutes to months."""
    start = timezone.now() - timedelta(days=400)
    people = []
    for i in range(40):
        person = ContactFactory(tenant=tenant, created_at=start + timedelta(hours=i))
        steps = 1 + i % 6
        hours = [0.05 * (i + 1) ** (1 + (i + k) % 3) for k in range(steps)]
        _history(person, ORDER[1 : 1 + steps], person.created_at, hours)
        people.append(person)
    return people


def kept(tenant):
    return funnel_stats_recompute(tenant=tenant).data["time_in_stage"]


def from_scratch(tenant):
    contacts = Contact.objects.for_tenant(tenant)
    return funnel_stats_compute(tenant=tenant, contacts=contacts)["time_in_stage"]


def assert_same(kept_figures, counted):
    assert kept_figures.keys() == counted.keys()
    for stage, figures in counted.items():
        assert kept_figures[stage]["n"] == figures["n"], stage
        for p in ("p50", "p90"):
            assert kept_figures[stage][p] == pytest.approx(figures[p], rel=1e-9), (stage, p)


def changed_contacts(tenant):
    return set(HistoryChanged.objects.for_tenant(tenant).values_list("contact_id", flat=True))


def test_the_first_recompute_counts_every_contact_and_matches_a_count_from_scratch(tenant, company):
    assert_same(kept(tenant), from_scratch(tenant))
    assert StageSpan.objects.for_tenant(tenant).count() == sum(1 + i % 6 for i in range(40))
    assert changed_contacts(tenant) == set()


def assert_kept_equals_a_count_from_scratch(tenant):
    """Recomputes (taking only what changed) and compares every figure with a full count."""
    data = funnel_stats_recompute(tenant=tenant).data
    counted = funnel_stats_compute(tenant=tenant, contacts=Contact.objects.for_tenant(tenant))
    for figure in ("reached", "conversion", "lost", "contacts"):
        assert data[figure] == counted[figure], figure
    assert_same(data["time_in_stage"], counted["time_in_stage"])


def test_after_every_kind_of_change_the_kept_figures_equal_a_count_from_scratch(
    tenant, company, sales, admin
):
    kept(tenant)
    contact_stage_move(contact=company[0], actor=sales, to_stage="customer")
    assert_kept_equals_a_count_from_scratch(tenant)

    contacts_bulk_move(tenant=tenant, actor=sales, contacts=[p.pk for p in company[1:9]],
                       to_stage="opportunity", reason="展会")  # fmt: skip
    assert_kept_equals_a_count_from_scratch(tenant)

    contact_mark_lost(contact=company[10], actor=sales, lost_reason="churned")
    contact_mark_lost(contact=company[11], actor=sales, lost_reason="unreachable")
    assert_kept_equals_a_count_from_scratch(tenant)
    contact_reopen(contact=Contact.objects.get(pk=company[10].pk), actor=sales, reason="回来了")
    assert_kept_equals_a_count_from_scratch(tenant)

    survivor, merged = company[12], company[13]
    contact_merge(survivor=survivor, merged=merged, actor=admin, take_from_merged=set())
    assert_kept_equals_a_count_from_scratch(tenant)
    assert not StageSpan.objects.for_tenant(tenant).filter(contact_id=merged.pk).exists()

    contact_delete(contact=company[20], actor=admin)
    assert_kept_equals_a_count_from_scratch(tenant)
    assert not StageSpan.objects.for_tenant(tenant).filter(contact_id=company[20].pk).exists()

    # a newcomer in the first stage has no history yet; nor has one written around the services
    newcomer = contact_create(tenant=tenant, actor=sales, data=ContactData(name="新来的"))
    ContactFactory(tenant=tenant, stage="mql", furthest_stage="mql")
    assert_kept_equals_a_count_from_scratch(tenant)
    contact_delete(contact=newcomer, actor=admin)
    assert_kept_equals_a_count_from_scratch(tenant)


def test_a_recompute_after_one_move_reads_only_that_contact(tenant, company, sales):
    kept(tenant)
    others = set(
        StageSpan.objects.for_tenant(tenant).exclude(contact_id=company[2].pk).values_list("pk")
    )

    contact_stage_move(contact=company[2], actor=sales, to_stage="evangelist")
    assert changed_contacts(tenant) == {company[2].pk}
    kept(tenant)

    assert changed_contacts(tenant) == set()
    # every other contact's spans are the very rows they were, not written again
    assert others == set(
        StageSpan.objects.for_tenant(tenant).exclude(contact_id=company[2].pk).values_list("pk")
    )


def test_a_removed_members_name_leaving_the_history_changes_no_figure(tenant, company, sales):
    contact_stage_move(contact=company[3], actor=sales, to_stage="customer")
    kept(tenant)
    StageChange.objects.for_tenant(tenant).filter(actor=sales).update(actor=None)
    assert changed_contacts(tenant) == set()


def test_one_companys_changes_and_figures_stay_its_own(tenant, company, other_tenant, sales):
    theirs = ContactFactory(tenant=other_tenant, created_at=timezone.now() - timedelta(days=3))
    _history(theirs, ["lead"], theirs.created_at, [24])
    kept(tenant)
    assert changed_contacts(other_tenant) == {theirs.pk}  # waiting for their own recompute
    assert not StageSpan.objects.for_tenant(other_tenant).exists()

    figures = kept(other_tenant)
    assert figures == {"subscriber": {"n": 1, "p50": 86400.0, "p90": 86400.0}}
    assert_same(kept(tenant), from_scratch(tenant))


def test_the_nightly_check_finds_the_updates_right_and_rewrites_nothing(tenant, company, sales):
    kept(tenant)
    contact_stage_move(contact=company[7], actor=sales, to_stage="sql")
    updated = kept(tenant)
    spans = set(StageSpan.objects.for_tenant(tenant).values_list("pk", "contact_id", "seconds"))

    checked = funnel_stats_recompute(tenant=tenant, rebuild=True).data["time_in_stage"]

    assert_same(updated, checked)
    assert spans == set(
        StageSpan.objects.for_tenant(tenant).values_list("pk", "contact_id", "seconds")
    )


@pytest.mark.parametrize(
    ("rank", "place"),
    [(0, (3, 0)), (1, (3, 1)), (2, (5, 0)), (3, (5, 1))],  # two spans in bucket 3, two in 5
)
def test_a_span_of_a_rank_is_found_by_the_counts(rank, place):
    assert _rank_place([(3, 2), (5, 2)], rank) == place


def test_a_crowd_of_equal_spans_answers_without_reading_it(tenant, sales):
    start = timezone.now() - timedelta(days=10)
    crowd = [ContactFactory(tenant=tenant, created_at=start) for _ in range(30)]
    contacts_bulk_move(tenant=tenant, actor=sales, contacts=[p.pk for p in crowd],
                       to_stage="lead")  # fmt: skip
    stretched = ContactFactory(tenant=tenant, created_at=start - timedelta(days=30))
    contact_stage_move(contact=stretched, actor=sales, to_stage="lead")
    assert_same(kept(tenant), from_scratch(tenant))


def test_beat_rebuilds_every_companys_figures_each_night(tenant, company, other_tenant):
    kept(tenant)
    StageSpan.objects.for_tenant(tenant).filter(contact_id=company[0].pk).delete()  # drift

    rebuild_funnel_stats()

    assert_same(FunnelStats.objects.for_tenant(tenant).get().data["time_in_stage"],
                from_scratch(tenant))  # fmt: skip
    assert FunnelStats.objects.for_tenant(other_tenant).get().figures_kept
    entry = next(e for e in celery_app.conf.beat_schedule.values()
                 if e["task"] == rebuild_funnel_stats.name)  # fmt: skip
    assert entry["schedule"].hour == {3}
