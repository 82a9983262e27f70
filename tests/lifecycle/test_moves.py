"""A salesperson moves a contact; everyone can trust where it stands and how it got there."""

import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import translation

from crm.models import Contact
from lifecycle.models import FunnelCount, StageChange
from lifecycle.services import (
    MissingRequirements,
    MoveRefused,
    contact_mark_lost,
    contact_reopen,
    contact_stage_move,
)
from tests.factories import ContactFactory


def fresh(contact):
    return Contact.objects.for_tenant(contact.tenant).get(pk=contact.pk)


def test_a_new_contact_starts_as_a_subscriber(contact):
    assert (contact.stage, contact.status, contact.furthest_stage) == (
        "subscriber",
        "active",
        "subscriber",
    )


def test_the_stage_cannot_be_assigned_directly(contact):
    with pytest.raises(AttributeError):
        contact.stage = "customer"


def test_a_forward_move_skips_stages_and_is_recorded(contact, sales):
    change = contact_stage_move(contact=contact, actor=sales, to_stage="customer")
    contact = fresh(contact)
    assert (contact.stage, contact.furthest_stage, contact.stage_version) == (
        "customer",
        "customer",
        1,
    )
    assert contact.stage_entered_at == change.created_at
    row = StageChange.objects.for_tenant(contact.tenant).get()
    assert (row.from_stage, row.to_stage, row.actor, row.channel, row.kind) == (
        "subscriber",
        "customer",
        sales,
        "ui",
        "moved",
    )


def test_marketer_cannot_move_backward_and_nothing_changes(contact, marketer):
    contact_stage_move(contact=contact, actor=marketer, to_stage="mql")
    with pytest.raises(MoveRefused) as refused:
        contact_stage_move(contact=contact, actor=marketer, to_stage="lead", reason="oops")
    assert refused.value.code == "backward_not_allowed"
    assert fresh(contact).stage == "mql"
    assert StageChange.objects.for_tenant(contact.tenant).count() == 1


def test_sales_moves_backward_with_a_reason_and_the_furthest_stage_stays(contact, sales):
    contact_stage_move(contact=contact, actor=sales, to_stage="customer")
    with pytest.raises(MoveRefused) as refused:
        contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    assert refused.value.code == "reason_required"
    contact_stage_move(contact=contact, actor=sales, to_stage="sql", reason="付款被退回")
    contact = fresh(contact)
    assert (contact.stage, contact.furthest_stage) == ("sql", "customer")
    back = StageChange.objects.for_tenant(contact.tenant).order_by("-id").first()
    assert (back.reason, back.is_backward) == ("付款被退回", True)


def test_rules_never_move_backward_even_as_admin(contact, admin):
    contact_stage_move(contact=contact, actor=admin, to_stage="sql")
    with pytest.raises(MoveRefused):
        contact_stage_move(
            contact=contact, actor=None, to_stage="lead", channel="rule", reason="rule"
        )
    assert fresh(contact).stage == "sql"


def test_a_move_from_a_stale_page_is_refused_with_the_current_stage(contact, sales, marketer):
    seen_version = contact.stage_version
    contact_stage_move(contact=contact, actor=marketer, to_stage="mql")
    with translation.override("zh-hans"), pytest.raises(MoveRefused) as refused:
        contact_stage_move(
            contact=contact, actor=sales, to_stage="sql", expected_version=seen_version
        )
    assert refused.value.code == "stale"
    assert refused.value.current_stage == "mql"
    assert "“营销合格”" in refused.value.message  # in the user's language
    assert fresh(contact).stage == "mql"
    assert StageChange.objects.for_tenant(contact.tenant).count() == 1


def test_a_required_field_is_asked_for_and_the_move_completes_when_given(tenant, sales, require):
    require("opportunity", "expected_amount")
    contact = ContactFactory(tenant=tenant, stage="sql")
    with pytest.raises(MissingRequirements) as missing:
        contact_stage_move(contact=contact, actor=sales, to_stage="opportunity")
    assert missing.value.missing == ["expected_amount"]
    assert fresh(contact).stage == "sql"
    contact_stage_move(
        contact=contact, actor=sales, to_stage="opportunity", fill={"expected_amount": 3680}
    )
    contact = fresh(contact)
    assert (contact.stage, contact.expected_amount) == ("opportunity", 3680)


def test_phone_or_email_is_enough_for_a_lead(tenant, sales, require):
    require("lead", "phone_or_email")
    no_channels = ContactFactory(tenant=tenant, phone="")
    with pytest.raises(MissingRequirements):
        contact_stage_move(contact=no_channels, actor=sales, to_stage="lead")
    contact_stage_move(
        contact=no_channels, actor=sales, to_stage="lead", fill={"email": "New@QQ.com"}
    )
    assert fresh(no_channels).email == "new@qq.com"
    with_phone = ContactFactory(tenant=tenant)
    contact_stage_move(contact=with_phone, actor=sales, to_stage="lead")
    assert fresh(with_phone).stage == "lead"


def test_marking_lost_keeps_the_stage_and_reopen_restores(contact, sales):
    contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    with pytest.raises(MoveRefused):
        contact_mark_lost(contact=contact, actor=sales, lost_reason="other")
    contact_mark_lost(contact=contact, actor=sales, lost_reason="unreachable")
    contact = fresh(contact)
    assert (contact.stage, contact.status, contact.lost_reason) == ("sql", "lost", "unreachable")
    with pytest.raises(MoveRefused) as refused:
        contact_stage_move(contact=contact, actor=sales, to_stage="opportunity")
    assert refused.value.code == "lost"
    contact_reopen(contact=contact, actor=sales)
    contact = fresh(contact)
    assert (contact.stage, contact.status, contact.lost_reason) == ("sql", "active", "")
    kinds = list(
        StageChange.objects.for_tenant(contact.tenant).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["moved", "lost", "reopened"]


def test_marketers_cannot_mark_lost(contact, marketer):
    with pytest.raises(MoveRefused):
        contact_mark_lost(contact=contact, actor=marketer, lost_reason="churned")
    assert fresh(contact).status == "active"


def test_counts_are_recomputed_after_the_move_commits(
    contact, sales, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        contact_stage_move(contact=contact, actor=sales, to_stage="mql")
    assert len(callbacks) == 1
    counts = dict(
        FunnelCount.objects.for_tenant(contact.tenant)
        .filter(status="active")
        .values_list("stage", "count")
    )
    assert counts["mql"] == 1 and counts["subscriber"] == 0


# --- through the pages ----------------------------------------------------------------------


def move_url(contact):
    return reverse("contact_move", args=[contact.tenant.slug, contact.pk])


def test_salesperson_moves_from_the_contact_page(sales_client, contact):
    response = sales_client.post(
        move_url(contact), {"to_stage": "sql", "version": 0, "origin": "detail"}, follow=True
    )
    assert "moved to “Sales qualified lead”" in response.content.decode()
    assert fresh(contact).stage == "sql"


def test_the_contact_page_shows_stage_since_and_timeline(sales_client, contact, sales):
    contact_stage_move(contact=contact, actor=sales, to_stage="mql")
    html = sales_client.get(
        reverse("contact_detail", args=[contact.tenant.slug, contact.pk])
    ).content.decode()
    assert "In this stage since" in html
    assert "Moved from Subscriber to Marketing qualified lead" in html
    assert "zhao" in html


def test_stale_page_move_shows_a_clear_message(sales_client, contact, marketer):
    contact_stage_move(contact=contact, actor=marketer, to_stage="lead")
    response = sales_client.post(
        move_url(contact),
        {"to_stage": "sql", "version": 0, "origin": "detail"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Someone changed this contact while you were looking" in html
    assert "Lead" in html
    assert fresh(contact).stage == "lead"


def test_missing_requirements_are_asked_in_place_then_the_move_completes(
    sales_client, tenant, require
):
    require("opportunity", "expected_amount")
    contact = ContactFactory(tenant=tenant, stage="sql")
    response = sales_client.post(
        move_url(contact),
        {"to_stage": "opportunity", "version": 0, "origin": "board"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Retarget"] == "#dialog"
    html = response.content.decode()
    assert 'name="expected_amount"' in html and 'name="phone"' not in html
    bad = sales_client.post(
        move_url(contact),
        {"to_stage": "opportunity", "version": 0, "origin": "board", "complete": "1",
         "missing": "expected_amount", "expected_amount": "lots"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert bad.status_code == 200  # htmx swaps only successful responses into the dialog
    assert bad["HX-Retarget"] == "#dialog"
    assert "Enter a number." in bad.content.decode()
    assert fresh(contact).stage == "sql"
    done = sales_client.post(
        move_url(contact),
        {"to_stage": "opportunity", "version": 0, "origin": "board", "complete": "1",
         "missing": "expected_amount", "expected_amount": "5800"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert done.status_code == 200
    contact = fresh(contact)
    assert (contact.stage, contact.expected_amount) == ("opportunity", 5800)


def test_moving_back_asks_for_a_reason_in_place(sales_client, tenant):
    contact = ContactFactory(tenant=tenant, stage="sql")
    response = sales_client.post(
        move_url(contact), {"to_stage": "lead", "version": 0}, HTTP_HX_REQUEST="true"
    )
    assert 'name="reason"' in response.content.decode()
    sales_client.post(
        move_url(contact),
        {"to_stage": "lead", "version": 0, "complete": "1", "needs_reason": "1",
         "reason": "没有预算"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert fresh(contact).stage == "lead"


def test_marketer_backward_move_on_the_board_is_refused_with_the_reason(marketer_client, tenant):
    contact = ContactFactory(tenant=tenant, stage="sql")
    response = marketer_client.post(
        move_url(contact),
        {"to_stage": "lead", "version": 0, "origin": "board", "reason": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Retarget"] == "#board-messages"
    assert "Only admins and sales staff may move a contact back" in response.content.decode()
    assert fresh(contact).stage == "sql"


def test_lost_and_reopen_from_the_contact_page(sales_client, contact):
    url = reverse("contact_lost", args=[contact.tenant.slug, contact.pk])
    sales_client.post(url, {"lost_reason": "churned", "version": 0})
    assert fresh(contact).status == "lost"
    url = reverse("contact_reopen", args=[contact.tenant.slug, contact.pk])
    sales_client.post(url, {"version": 1})
    assert fresh(contact).status == "active"


def test_marketer_lost_attempt_changes_nothing(marketer_client, contact):
    url = reverse("contact_lost", args=[contact.tenant.slug, contact.pk])
    response = marketer_client.post(url, {"lost_reason": "churned", "version": 0}, follow=True)
    assert "Only admins and sales staff may mark a contact lost." in response.content.decode()
    assert fresh(contact).status == "active"


def test_a_walk_in_who_pays_is_created_as_a_customer_on_purpose(tenant, sales):
    from crm.services import ContactData
    from lifecycle.services import contact_create_at_stage

    contact = contact_create_at_stage(
        tenant=tenant,
        actor=sales,
        data=ContactData(name="到店客户", phone="13600000000"),
        stage="customer",
    )
    contact = fresh(contact)
    assert (contact.stage, contact.furthest_stage, contact.stage_version) == (
        "customer",
        "customer",
        1,
    )
    row = StageChange.objects.for_tenant(tenant).get(contact=contact)
    assert (row.kind, row.from_stage, row.to_stage, row.actor) == ("created", "", "customer", sales)


def test_creating_at_a_stage_respects_its_requirements(tenant, sales, require):
    from crm.services import ContactData
    from lifecycle.services import contact_create_at_stage

    require("opportunity", "expected_amount")
    with pytest.raises(MissingRequirements):
        contact_create_at_stage(
            tenant=tenant, actor=sales, data=ContactData(name="没金额"), stage="opportunity"
        )
    assert not Contact.objects.for_tenant(tenant).exists()


def test_a_duplicate_phone_given_in_the_dialog_is_explained_in_the_dialog(
    sales_client, tenant, contact, require
):
    require("lead", "phone")
    no_phone = ContactFactory(tenant=tenant, name="无电话", phone="")
    response = sales_client.post(
        move_url(no_phone),
        {"to_stage": "lead", "version": 0, "origin": "board", "complete": "1",
         "missing": "phone", "phone": contact.phone},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response["HX-Retarget"] == "#dialog"
    html = response.content.decode()
    assert "Already used by" in html and contact.name in html
    assert (fresh(no_phone).stage, fresh(no_phone).phone) == ("subscriber", "")


def test_completing_a_move_on_the_contact_page_reloads_it(sales_client, tenant, require):
    require("opportunity", "expected_amount")
    contact = ContactFactory(tenant=tenant, stage="sql")
    response = sales_client.post(
        move_url(contact),
        {"to_stage": "opportunity", "version": 0, "origin": "detail", "complete": "1",
         "missing": "expected_amount", "expected_amount": "1980"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response["HX-Redirect"] == reverse("contact_detail", args=[tenant.slug, contact.pk])


def test_a_panel_move_closes_any_open_dialog(sales_client, contact):
    response = sales_client.post(
        move_url(contact), {"to_stage": "lead", "version": 0}, HTTP_HX_REQUEST="true"
    )
    assert '<div id="dialog" hx-swap-oob="innerHTML"></div>' in response.content.decode()


def test_a_move_expecting_another_stage_is_refused_under_the_lock(tenant, sales):
    """The API's expected_stage: checked by the service on the locked row, not before it."""
    contact = ContactFactory(tenant=tenant, stage="mql", furthest_stage="mql")
    with pytest.raises(MoveRefused) as refused:
        contact_stage_move(contact=contact, actor=sales, to_stage="sql", expected_stage="lead")
    assert refused.value.code == "stale" and refused.value.current_stage == "mql"
    assert "no longer in" in str(refused.value)
    assert Contact.objects.for_tenant(tenant).get(pk=contact.pk).stage == "mql"
    contact_stage_move(contact=contact, actor=sales, to_stage="sql", expected_stage="mql")
    assert Contact.objects.for_tenant(tenant).get(pk=contact.pk).stage == "sql"


def test_the_contact_page_gives_each_label_its_own_field(admin_client, tenant):
    """Every id on the page once: the lost box's note and the event form's note each have their
    own, so a label (and a screen reader) never points at the wrong one."""
    contact = ContactFactory(tenant=tenant, stage="lead")
    html = admin_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk])).content
    ids = Counter(re.findall(r'\sid="([^"]+)"', html.decode()))
    assert [name for name, n in ids.items() if n > 1] == []
    assert 'for="id_lost_note"' in html.decode() and 'id="id_lost_note"' in html.decode()


def test_a_refused_lost_mark_reopens_as_it_was_filled(sales_client, sales, contact):
    """'Other' without a note: the box stays open with 'Other' chosen and the reason beside it,
    in the reader's language; the contact is not lost."""
    url = reverse("contact_lost", args=[contact.tenant.slug, contact.pk])
    response = sales_client.post(
        url, {"lost_reason": "other", "note": "  ", "version": 0}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert '<details class="lost-box" open>' in html
    assert '<option value="other" selected>Other</option>' in html
    assert "Say in a few words why the contact was lost." in html
    sales.user.language = "zh-hans"
    sales.user.save(update_fields=["language"])
    html = sales_client.post(
        url, {"lost_reason": "other", "version": 0}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "请简要说明该联系人流失的原因。" in html and '<option value="other" selected>' in html
    assert (fresh(contact).status, StageChange.objects.for_tenant(contact.tenant).count()) == (
        "active", 0
    )  # fmt: skip


def test_a_lost_note_too_long_comes_back_with_the_reason_and_note(sales_client, contact):
    url = reverse("contact_lost", args=[contact.tenant.slug, contact.pk])
    note = "去了别家机构，" * 80  # 560 characters
    response = sales_client.post(
        url, {"lost_reason": "churned", "note": note, "version": 0}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert '<option value="churned" selected>' in html
    assert f'value="{note}"' in html
    assert "Ensure this value has at most 500 characters (it has 560)." in html
    assert fresh(contact).status == "active"


def test_the_lost_box_starts_closed_and_empty(sales_client, contact):
    html = sales_client.get(
        reverse("contact_detail", args=[contact.tenant.slug, contact.pk])
    ).content.decode()
    assert '<details class="lost-box">' in html
    lost_form = html[html.index('<details class="lost-box">') : html.index("</details>")]
    assert 'id="id_lost_note" value=""' in lost_form and " selected" not in lost_form
