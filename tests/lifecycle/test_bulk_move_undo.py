"""A member who bulk-moved the wrong contacts takes it back at once: each contact goes back to
the stage it was in, exactly, or nothing changes and they are told which contacts changed since."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.audit import audit_detail
from crm.models import AuditEntry, Contact, Undo
from crm.services import NotAllowed, ServiceError
from crm.tasks import expire_undos
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.models import FunnelCount, MoveUndoRow, StageChange
from lifecycle.services import contact_stage_move
from lifecycle.undo import contacts_bulk_move_undo
from tests.conftest import client_for
from tests.factories import ContactFactory


def place(contact) -> tuple:
    fresh = Contact.objects.for_tenant(contact.tenant).get(pk=contact.pk)
    return fresh.stage, fresh.furthest_stage, fresh.stage_entered_at


@pytest.fixture
def mixed(tenant):
    """Contacts at different stages, who entered them at different times."""
    long_ago = timezone.now() - timedelta(days=40)
    return [
        ContactFactory(tenant=tenant, name="王芳", stage="subscriber", stage_entered_at=long_ago),
        ContactFactory(tenant=tenant, name="李娜", stage="lead", furthest_stage="lead",
                       stage_entered_at=long_ago + timedelta(days=3)),
        ContactFactory(tenant=tenant, name="赵磊", stage="mql", furthest_stage="sql",
                       stage_entered_at=long_ago + timedelta(days=9)),
    ]  # fmt: skip


def test_undo_puts_each_contact_back_exactly_and_records_the_moves_back(tenant, marketer, mixed):
    before = {c.name: place(c) for c in mixed}
    result = contacts_bulk_move(tenant=tenant, actor=marketer, contacts=[c.pk for c in mixed],
                                to_stage="customer", undoable=True)  # fmt: skip
    assert result.done == 3 and result.undo.count == 3
    assert {place(c)[:2] for c in mixed} == {("customer", "customer")}

    assert contacts_bulk_move_undo(undo=result.undo, actor=marketer) == 3

    assert {c.name: place(c) for c in mixed} == before  # stage, furthest stage, entered at
    back = StageChange.objects.for_tenant(tenant).filter(reason="Undo of a bulk move")
    assert sorted(back.values_list("contact__name", "from_stage", "to_stage", "actor")) == [
        ("李娜", "customer", "lead", marketer.pk),
        ("王芳", "customer", "subscriber", marketer.pk),
        ("赵磊", "customer", "mql", marketer.pk),
    ]
    versions = Contact.objects.for_tenant(tenant).values_list("stage_version", flat=True)
    assert set(versions) == {2}  # a page still showing the customer column is told it moved
    undo = Undo.objects.for_tenant(tenant).get()
    assert undo.undone_at is not None
    assert not MoveUndoRow.objects.for_tenant(tenant).exists()
    entry = AuditEntry.objects.for_tenant(tenant).get(kind="undone")
    assert (entry.actor, entry.count, entry.details["undid"]) == (marketer, 3, "bulk_move")
    assert (entry.subject, audit_detail(entry)) == ("Customer", "a bulk move")  # the audit log


def test_only_the_contacts_the_move_moved_go_back(tenant, sales, mixed):
    there = ContactFactory(tenant=tenant, name="已在", stage="sql")
    ids = [c.pk for c in (*mixed, there)]
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=ids, to_stage="sql",
                                undoable=True)  # fmt: skip
    assert result.done == 3  # 已在 was in the stage already: skipped, not kept
    contacts_bulk_move_undo(undo=result.undo, actor=sales)
    assert place(there)[0] == "sql"
    assert [place(c)[0] for c in mixed] == ["subscriber", "lead", "mql"]


def test_a_contact_moved_again_since_stops_the_whole_undo(tenant, sales, mixed):
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[c.pk for c in mixed],
                                to_stage="sql", undoable=True)  # fmt: skip
    contact_stage_move(contact=mixed[1], actor=sales, to_stage="customer")
    history = StageChange.objects.for_tenant(tenant).count()

    with pytest.raises(ServiceError, match=r"1 of these contacts changed since \(李娜\)"):
        contacts_bulk_move_undo(undo=result.undo, actor=sales)

    assert [place(c)[0] for c in mixed] == ["sql", "customer", "sql"]
    assert StageChange.objects.for_tenant(tenant).count() == history
    assert Undo.objects.for_tenant(tenant).get().undone_at is None


def test_a_contact_deleted_since_stops_the_undo_too(tenant, admin, mixed):
    result = contacts_bulk_move(tenant=tenant, actor=admin, contacts=[c.pk for c in mixed],
                                to_stage="sql", undoable=True)  # fmt: skip
    Contact.objects.for_tenant(tenant).filter(pk=mixed[0].pk).delete()
    with pytest.raises(ServiceError, match="1 of these contacts changed or went since"):
        contacts_bulk_move_undo(undo=result.undo, actor=admin)
    assert [place(c)[0] for c in mixed[1:]] == ["sql", "sql"]


def test_the_undo_is_refused_once_its_time_is_up(tenant, sales, mixed):
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[mixed[0].pk],
                                to_stage="lead", undoable=True)  # fmt: skip
    Undo.objects.for_tenant(tenant).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ServiceError, match="The time to undo this has passed"):
        contacts_bulk_move_undo(undo=result.undo, actor=sales)
    assert place(mixed[0])[0] == "lead"


def test_only_the_member_who_moved_may_undo_and_only_once(tenant, sales, admin, mixed):
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[mixed[0].pk],
                                to_stage="lead", undoable=True)  # fmt: skip
    with pytest.raises(NotAllowed):
        contacts_bulk_move_undo(undo=result.undo, actor=admin)
    assert place(mixed[0])[0] == "lead"
    contacts_bulk_move_undo(undo=result.undo, actor=sales)
    with pytest.raises(ServiceError, match="undone already"):
        contacts_bulk_move_undo(undo=result.undo, actor=sales)
    assert StageChange.objects.for_tenant(tenant).count() == 2


def test_a_members_next_action_replaces_the_undo_of_the_last(tenant, sales, mixed):
    first = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[mixed[0].pk],
                               to_stage="lead", undoable=True)  # fmt: skip
    contacts_bulk_move(tenant=tenant, actor=sales, contacts=[mixed[1].pk], to_stage="mql",
                       undoable=True)  # fmt: skip
    with pytest.raises(ServiceError, match="a later action took its place"):
        contacts_bulk_move_undo(undo=first.undo, actor=sales)
    assert MoveUndoRow.objects.for_tenant(tenant).count() == 1


def test_what_an_expired_undo_kept_is_cleared_within_the_hour(tenant, sales, admin, mixed):
    """A company that stops acting does not keep a big bulk move's rows: the hourly task clears
    the undos whose time is up, and leaves those still open."""
    expired = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[mixed[0].pk],
                                 to_stage="lead", undoable=True).undo  # fmt: skip
    Undo.objects.for_tenant(tenant).update(expires_at=timezone.now() - timedelta(seconds=1))
    still_open = contacts_bulk_move(tenant=tenant, actor=admin, contacts=[mixed[1].pk],
                                    to_stage="mql", undoable=True).undo  # fmt: skip
    # not the next action of the company: the one above cleared nothing of the others' (yet)
    Undo.objects.for_tenant(tenant).filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    expire_undos()
    expire_undos()  # a second run finds nothing more

    assert list(Undo.objects.for_tenant(tenant).values_list("pk", flat=True)) == [still_open.pk]
    assert list(MoveUndoRow.objects.for_tenant(tenant).values_list("contact_id", flat=True)) == [
        mixed[1].pk
    ]


def test_a_move_that_moved_nobody_offers_nothing(tenant, sales, mixed):
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[mixed[1].pk],
                                to_stage="lead", undoable=True)  # fmt: skip
    assert result.done == 0 and result.undo is None
    assert not Undo.objects.for_tenant(tenant).exists()


def test_back_to_the_first_stage_without_a_reason_moves_nobody_and_says_why(tenant, sales, mixed):
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[c.pk for c in mixed[1:]],
                                to_stage="subscriber", undoable=True)  # fmt: skip
    assert (result.done, result.undo, list(result.skipped)) == (0, None, ["reason_required"])
    assert [place(c)[0] for c in mixed] == ["subscriber", "lead", "mql"]


def test_counts_are_recomputed_after_the_undo_commits(
    tenant, sales, mixed, django_capture_on_commit_callbacks
):
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[c.pk for c in mixed],
                                to_stage="customer", undoable=True)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        contacts_bulk_move_undo(undo=result.undo, actor=sales)
    counts = dict(
        FunnelCount.objects.for_tenant(tenant).filter(status="active").values_list("stage", "count")
    )
    assert (counts["customer"], counts["subscriber"], counts["lead"], counts["mql"]) == (0, 1, 1, 1)


# --- through the pages ----------------------------------------------------------------------


def bulk_move(client, tenant, contacts, to_stage):
    return client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {"action": "move", "to_stage": to_stage, "ids": [c.pk for c in contacts]},
        follow=True,
    )


def test_a_marketer_undoes_their_own_slip_forward_from_the_list(marketer_client, tenant, mixed):
    """Moving back is for admins and sales; a marketer's own bulk move is theirs to take back."""
    page = bulk_move(marketer_client, tenant, mixed, "customer").content.decode()
    undo = Undo.objects.for_tenant(tenant).get()
    url = reverse("contacts_bulk_undo", args=[tenant.slug, undo.pk])
    assert "Moved 3 contacts to “Customer”." in page
    assert f'action="{url}"' in page
    response = marketer_client.post(url, {"next": reverse("contact_list", args=[tenant.slug])},
                                    follow=True)  # fmt: skip
    assert "Undone: 3 contacts are back in the stages they were in." in response.content.decode()
    assert [place(c)[0] for c in mixed] == ["subscriber", "lead", "mql"]


def test_the_offer_shows_once(sales_client, tenant, mixed):
    bulk_move(sales_client, tenant, mixed[:1], "lead")
    again = sales_client.get(reverse("contact_list", args=[tenant.slug])).content.decode()
    assert "undo-offer" not in again


def test_a_colleague_cannot_undo_it(sales_client, tenant, admin, mixed):
    bulk_move(sales_client, tenant, mixed, "lead")
    undo = Undo.objects.for_tenant(tenant).get()
    response = client_for(admin).post(reverse("contacts_bulk_undo", args=[tenant.slug, undo.pk]))
    assert response.status_code == 404
    assert [place(c)[0] for c in mixed] == ["lead", "lead", "mql"]


def test_another_company_cannot_reach_it(
    sales_client, tenant, other_tenant, outsider_client, mixed
):
    bulk_move(sales_client, tenant, mixed, "lead")
    undo = Undo.objects.for_tenant(tenant).get()
    for slug in (tenant.slug, other_tenant.slug):
        response = outsider_client.post(reverse("contacts_bulk_undo", args=[slug, undo.pk]))
        assert response.status_code == 404
    assert [place(c)[0] for c in mixed] == ["lead", "lead", "mql"]


def test_a_refused_undo_says_why_and_changes_nothing(sales_client, tenant, sales, mixed):
    bulk_move(sales_client, tenant, mixed, "sql")
    undo = Undo.objects.for_tenant(tenant).get()
    contact_stage_move(contact=mixed[2], actor=sales, to_stage="customer")
    response = sales_client.post(
        reverse("contacts_bulk_undo", args=[tenant.slug, undo.pk]), follow=True
    )
    assert "Nothing was undone: 1 of these contacts changed since (赵磊)." in (
        response.content.decode()
    )
    assert [place(c)[0] for c in mixed] == ["sql", "sql", "customer"]
