"""Sales staff move many contacts at once; those that cannot move are named, never lost."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import customfields
from crm.models import Contact, CustomField
from lifecycle.bulk_moves import contacts_bulk_mark_lost, contacts_bulk_move
from lifecycle.models import StageChange
from lifecycle.rules import MoveRefused
from lifecycle.services import contact_reopen, contact_stage_move
from tests.factories import ContactFactory


def stages(tenant):
    return dict(Contact.objects.for_tenant(tenant).values_list("name", "stage"))


def test_bulk_move_forward_writes_one_history_row_each(tenant, sales):
    people = [ContactFactory(tenant=tenant, name=f"客户{i}") for i in range(5)]
    result = contacts_bulk_move(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people], to_stage="mql"
    )
    assert result.done == 5 and result.skipped == {}
    assert set(stages(tenant).values()) == {"mql"}
    rows = StageChange.objects.for_tenant(tenant)
    assert rows.count() == 5
    assert set(rows.values_list("from_stage", "to_stage", "channel", "actor")) == {
        ("subscriber", "mql", "bulk", sales.pk)
    }
    assert set(Contact.objects.for_tenant(tenant).values_list("stage_version", flat=True)) == {1}


def test_bulk_move_reports_who_was_skipped_and_why(tenant, marketer, require):
    require("opportunity", "expected_amount")
    ready = ContactFactory(tenant=tenant, name="有金额", stage="sql", expected_amount=100)
    no_amount = ContactFactory(tenant=tenant, name="没金额", stage="sql")
    there = ContactFactory(tenant=tenant, name="已到", stage="opportunity")
    ahead = ContactFactory(tenant=tenant, name="已付费", stage="customer")
    lost = ContactFactory(tenant=tenant, name="流失", stage="sql", status="lost")
    ids = [c.pk for c in (ready, no_amount, there, ahead, lost)]
    result = contacts_bulk_move(tenant=tenant, actor=marketer, contacts=ids, to_stage="opportunity")
    assert result.done == 1
    summary = {
        code: (count, [c.name for c in sample])
        for code, (_m, count, sample) in result.skipped.items()
    }
    assert summary == {
        "missing_expected_amount": (1, ["没金额"]),
        "same_stage": (1, ["已到"]),
        "backward_not_allowed": (1, ["已付费"]),
        "lost": (1, ["流失"]),
    }
    assert stages(tenant) == {
        "有金额": "opportunity", "没金额": "sql", "已到": "opportunity", "已付费": "customer",
        "流失": "sql",
    }  # fmt: skip
    assert StageChange.objects.for_tenant(tenant).count() == 1


def test_bulk_backward_needs_a_reason_and_keeps_the_furthest_stage(tenant, sales):
    paid = ContactFactory(tenant=tenant, stage="customer", furthest_stage="customer")
    result = contacts_bulk_move(tenant=tenant, actor=sales, contacts=[paid.pk], to_stage="sql")
    assert result.done == 0 and "reason_required" in result.skipped
    contacts_bulk_move(
        tenant=tenant, actor=sales, contacts=[paid.pk], to_stage="sql", reason="退款"
    )
    paid = Contact.objects.for_tenant(tenant).get(pk=paid.pk)
    assert (paid.stage, paid.furthest_stage) == ("sql", "customer")


def test_bulk_forward_raises_the_furthest_stage_only_when_further(tenant, sales):
    corrected = ContactFactory(tenant=tenant, stage="lead", furthest_stage="customer")
    fresh = ContactFactory(tenant=tenant, stage="lead", furthest_stage="lead")
    contacts_bulk_move(
        tenant=tenant, actor=sales, contacts=[corrected.pk, fresh.pk], to_stage="sql"
    )
    furthest = dict(Contact.objects.for_tenant(tenant).values_list("pk", "furthest_stage"))
    assert furthest == {corrected.pk: "customer", fresh.pk: "sql"}


def test_bulk_never_touches_another_companys_contacts(tenant, sales, foreign_contact):
    mine = ContactFactory(tenant=tenant)
    result = contacts_bulk_move(
        tenant=tenant, actor=sales, contacts=[mine.pk, foreign_contact.pk], to_stage="lead"
    )
    assert result.done == 1
    foreign_contact.refresh_from_db()
    assert foreign_contact.stage == "subscriber"
    assert not StageChange.objects.for_tenant(foreign_contact.tenant).exists()


def test_bulk_mark_lost(tenant, sales, marketer):
    people = [ContactFactory(tenant=tenant, stage="mql") for _ in range(3)]
    with pytest.raises(MoveRefused):
        contacts_bulk_mark_lost(
            tenant=tenant, actor=marketer, contacts=[p.pk for p in people], lost_reason="churned"
        )
    result = contacts_bulk_mark_lost(
        tenant=tenant, actor=sales, contacts=[p.pk for p in people], lost_reason="churned"
    )
    assert result.done == 3
    rows = Contact.objects.for_tenant(tenant).values_list("stage", "status", "lost_reason")
    assert set(rows) == {("mql", "lost", "churned")}
    assert set(StageChange.objects.for_tenant(tenant).values_list("kind", "lost_reason")) == {
        ("lost", "churned")
    }


def test_bulk_move_of_all_matching_a_search(sales_client, tenant):
    for i in range(3):
        ContactFactory(tenant=tenant, name=f"张{i}")
    ContactFactory(tenant=tenant, name="李四")
    response = sales_client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {"action": "move", "scope": "all", "q": "张", "to_stage": "lead",
         "next": f"/t/{tenant.slug}/contacts/?q=张"},
        follow=True,
    )  # fmt: skip
    assert "Moved 3 contacts to “Lead”." in response.content.decode()
    assert stages(tenant) == {"张0": "lead", "张1": "lead", "张2": "lead", "李四": "subscriber"}


def bulk_form_fields(html: str) -> dict[str, list[str]]:
    """The hidden fields of the list's bulk form, as the browser posts them."""
    form = re.search(r'<form id="bulk-form".*?</form>', html, re.S).group(0)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        fields.setdefault(name, []).append(value)
    return fields


def test_all_matching_in_the_bulk_form_is_what_the_list_shows(sales_client, tenant, admin):
    """A salesperson filters by 校区 and moves "all matching": only the 徐汇 pupils move, not
    the company (the form once carried only the built-in filters)."""
    customfields.custom_field_create(
        tenant=tenant,
        actor=admin,
        label="校区",
        kind=CustomField.Kind.CHOICE,
        options=["徐汇", "浦东"],
    )
    for i in range(2):
        ContactFactory(tenant=tenant, name=f"徐汇{i}", custom={"xiao_qu": "徐汇"})
    ContactFactory(tenant=tenant, name="浦东0", custom={"xiao_qu": "浦东"})
    ContactFactory(tenant=tenant, name="未填")
    listing = sales_client.get(
        reverse("contact_list", args=[tenant.slug]), {"cf_xiao_qu": "徐汇", "activity": ""}
    )
    fields = bulk_form_fields(listing.content.decode())
    assert fields["cf_xiao_qu"] == ["徐汇"]
    response = sales_client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {**fields, "action": "move", "scope": "all", "to_stage": "lead"},
        follow=True,
    )
    assert "Moved 2 contacts to “Lead”." in response.content.decode()
    assert stages(tenant) == {"徐汇0": "lead", "徐汇1": "lead", "浦东0": "subscriber",
                              "未填": "subscriber"}  # fmt: skip


def test_bulk_page_reports_the_skipped_by_name(sales_client, tenant):
    ok = ContactFactory(tenant=tenant, name="可移动")
    lost = ContactFactory(tenant=tenant, name="已流失", status="lost")
    response = sales_client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {"action": "move", "ids": [ok.pk, lost.pk], "to_stage": "sql"},
        follow=True,
    )
    html = response.content.decode()
    assert "Moved 1 contact to" in html
    assert "Skipped 1 contact, marked lost: reopen them first: 已流失" in html


def test_bulk_without_a_selection_explains(sales_client, tenant):
    response = sales_client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {"action": "move", "to_stage": "sql"},
        follow=True,
    )
    assert "Select some contacts first." in response.content.decode()


def test_select_all_matching_counts_on_demand(sales_client, tenant):
    for i in range(4):
        ContactFactory(tenant=tenant, name=f"王{i}")
    ContactFactory(tenant=tenant, name="李四")
    response = sales_client.get(
        reverse("contacts_bulk_count", args=[tenant.slug]), {"q": "王"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "All 4 contacts matching this search are selected." in html
    assert 'name="scope" value="all"' in html


def test_a_bulk_move_that_moves_no_one_is_not_reported_as_a_success(sales_client, tenant):
    lost = ContactFactory(tenant=tenant, name="已流失", status="lost")
    response = sales_client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {"action": "move", "ids": [lost.pk], "to_stage": "sql"},
        follow=True,
    )
    levels = [m.level_tag for m in response.context["messages"]]
    assert levels == ["warning", "warning"]


def test_a_moved_contact_counts_as_updated_for_the_api_and_recent_lists(tenant, sales, admin):
    """A sync that asks the API for contacts updated since its last run must see stage changes:
    one by one, in bulk, marked lost or reopened."""
    earlier = timezone.now() - timedelta(days=2)
    one, many, lost = (ContactFactory(tenant=tenant, stage="subscriber") for _ in range(3))
    Contact.objects.for_tenant(tenant).update(updated_at=earlier)
    since = timezone.now() - timedelta(minutes=1)

    def updated() -> set[int]:
        return set(Contact.objects.for_tenant(tenant).filter(updated_at__gte=since)
                   .values_list("pk", flat=True))  # fmt: skip

    contact_stage_move(contact=one, actor=sales, to_stage="lead")
    assert updated() == {one.pk}
    contacts_bulk_move(tenant=tenant, actor=sales, contacts=[many.pk], to_stage="lead")
    assert updated() == {one.pk, many.pk}
    contacts_bulk_mark_lost(tenant=tenant, actor=admin, contacts=[lost.pk],
                            lost_reason="unreachable")  # fmt: skip
    assert updated() == {one.pk, many.pk, lost.pk}
    Contact.objects.for_tenant(tenant).update(updated_at=earlier)
    contact_reopen(contact=Contact.objects.for_tenant(tenant).get(pk=lost.pk), actor=admin)
    assert updated() == {lost.pk}


# --- the bulk bar offers each role what it may do -------------------------------------------


def bulk_bar(client, tenant, **filters) -> str:
    html = client.get(reverse("contact_list", args=[tenant.slug]), filters).content.decode()
    return html[
        html.index('<form id="bulk-form"') : html.index("</form>", html.index('id="bulk-form"'))
    ]


def offered_stages(bar: str) -> list[str]:
    if 'id="bulk-to-stage"' not in bar:
        return []
    select = bar[
        bar.index('id="bulk-to-stage"') : bar.index("</select>", bar.index('id="bulk-to-stage"'))
    ]
    return re.findall(r'<option value="(\w+)">', select)


def test_a_marketers_bulk_bar_offers_forward_moves_only(marketer_client, tenant):
    ContactFactory(tenant=tenant, stage="sql")
    bar = bulk_bar(marketer_client, tenant)
    # the first stage is never forward for anyone; no reason to move back, no lost mark
    assert offered_stages(bar) == ["lead", "mql", "sql", "opportunity", "customer", "evangelist"]
    assert 'name="reason"' not in bar and "Reason (needed to move back)" not in bar
    assert 'name="lost_reason"' not in bar and 'value="lost"' not in bar
    # a list of one stage: the stages after it
    assert offered_stages(bulk_bar(marketer_client, tenant, stage="sql")) == [
        "opportunity", "customer", "evangelist"
    ]  # fmt: skip
    # nothing is after the last stage: no move at all, the owner and tags stay
    ContactFactory(tenant=tenant, stage="evangelist")
    bar = bulk_bar(marketer_client, tenant, stage="evangelist")
    assert 'id="bulk-action"' not in bar and "Apply" not in bar
    assert 'name="owner_to"' in bar


@pytest.mark.parametrize("role_client", ["sales_client", "admin_client"])
def test_sales_and_admins_keep_backward_moves_and_the_reason(role_client, request, tenant):
    client = request.getfixturevalue(role_client)
    ContactFactory(tenant=tenant, stage="sql")
    bar = bulk_bar(client, tenant)
    assert offered_stages(bar) == [
        "subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"
    ]  # fmt: skip
    assert 'id="bulk-reason" name="reason"' in bar and 'value="lost"' in bar
    bar = bulk_bar(client, tenant, stage="sql")
    assert offered_stages(bar) == ["subscriber", "lead", "mql", "opportunity", "customer",
                                   "evangelist"]  # fmt: skip
    assert '<option value="mql">↩ Marketing qualified lead</option>' in bar
    assert '<option value="opportunity">Opportunity</option>' in bar


def test_a_marketers_backward_bulk_move_posted_anyway_is_refused(marketer_client, tenant):
    people = [ContactFactory(tenant=tenant, stage="sql", name=f"咨询{i}") for i in range(2)]
    response = marketer_client.post(
        reverse("contacts_bulk", args=[tenant.slug]),
        {"action": "move", "ids": [p.pk for p in people], "to_stage": "lead", "reason": "点错了"},
        follow=True,
    )
    html = response.content.decode()
    assert "Moved 0 contacts" in html
    assert (
        "Skipped 2 contacts, would move back to an earlier stage, which only admins and sales "
        "staff may do: 咨询0, 咨询1" in html
    )
    assert {c.stage for c in Contact.objects.for_tenant(tenant)} == {"sql"}
    assert not StageChange.objects.for_tenant(tenant).exists()
