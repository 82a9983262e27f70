"""Two people moving the same contact from stale pages: one wins, the other is told; no history
row is ever lost. Real connections in real threads, on PostgreSQL."""

import threading

import pytest
from django.db import connections

from crm.models import Contact
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.models import StageChange
from lifecycle.services import MoveRefused, contact_stage_move
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*jobs):
    """Runs each job in its own thread and database connection, starting them at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def runner(index, job):
        try:
            barrier.wait()
            outcomes[index] = ("ok", job())
        except Exception as error:  # the outcome is what the test checks
            outcomes[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_moves_from_the_same_stale_page_never_both_apply(tenant, sales, marketer):
    for _attempt in range(5):
        contact = ContactFactory(tenant=tenant, stage="lead")
        outcomes = run_together(
            lambda c=contact: contact_stage_move(
                contact=c, actor=sales, to_stage="sql", expected_version=0
            ),
            lambda c=contact: contact_stage_move(
                contact=c, actor=marketer, to_stage="mql", expected_version=0
            ),
        )
        kinds = sorted(kind for kind, _value in outcomes)
        assert kinds == ["error", "ok"], outcomes
        error = next(value for kind, value in outcomes if kind == "error")
        assert isinstance(error, MoveRefused) and error.code == "stale"
        contact = Contact.objects.for_tenant(tenant).get(pk=contact.pk)
        winner = next(value for kind, value in outcomes if kind == "ok")
        assert contact.stage == winner.to_stage
        assert contact.stage_version == 1
        assert StageChange.objects.for_tenant(tenant).filter(contact=contact).count() == 1


def test_a_bulk_move_and_single_moves_at_once_lose_no_history(tenant, sales):
    people = [ContactFactory(tenant=tenant, stage="lead") for _ in range(60)]
    singles = people[:5]
    outcomes = run_together(
        lambda: contacts_bulk_move(
            tenant=tenant, actor=sales, contacts=[p.pk for p in people], to_stage="mql"
        ),
        *[
            lambda c=c: contact_stage_move(contact=c, actor=sales, to_stage="customer")
            for c in singles
        ],
    )
    assert all(kind in ("ok", "error") for kind, _v in outcomes)
    for contact in Contact.objects.for_tenant(tenant):
        history = StageChange.objects.for_tenant(tenant).filter(contact=contact).order_by("id")
        # Every applied move is one row, and the rows chain from the start to where it is now.
        assert history.count() == contact.stage_version
        chain = list(history.values_list("from_stage", "to_stage"))
        assert chain[0][0] == "lead" and chain[-1][1] == contact.stage
        for (_a, to_stage), (from_stage, _b) in zip(chain, chain[1:], strict=False):
            assert to_stage == from_stage
