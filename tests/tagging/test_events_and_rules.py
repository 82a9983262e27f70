"""Behaviour moves and tags contacts by the company's rules, so nobody forgets to update them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import AuditEntry, AuditKind, Contact
from crm.services import ServiceError
from crm.tenancy import tenant_create
from lifecycle.models import StageChange
from lifecycle.services import contact_stage_move
from tagging.models import ContactTag, Event, Rule, TaggingDefaults
from tagging.outcomes import describe
from tagging.rules import (
    event_kind_create,
    event_log,
    rule_save,
    rules_defaults_offered,
    rules_ensure_defaults,
)
from tests.conftest import client_for
from tests.factories import ContactFactory


def fresh(contact):
    return Contact.objects.for_tenant(contact.tenant).get(pk=contact.pk)


@pytest.fixture
def rules(tenant):
    with translation.override("en"):
        rules_ensure_defaults(tenant=tenant)
    return list(Rule.objects.for_tenant(tenant))


def test_a_new_company_starts_with_the_seeds_rules(db):
    tenant, _admin, _created = tenant_create(
        slug="acme", name="Acme", admin_username="boss", admin_password="pw-123456"
    )
    rules = Rule.objects.for_tenant(tenant).order_by("position")
    assert [(r.event_kind, r.to_stage) for r in rules] == [
        ("form_submitted", "lead"),
        ("price_list_downloaded", "mql"),
        ("trial_booked", "mql"),
        ("consultation_call", "sql"),
        ("payment_intent", "opportunity"),
        ("payment_received", "customer"),
        ("referral_joined", "evangelist"),
    ]
    assert rules_defaults_offered(tenant=tenant) == []


def test_deleted_default_rules_stay_deleted(tenant, rules):
    Rule.objects.for_tenant(tenant).delete()
    rules_ensure_defaults(tenant=tenant)
    assert not Rule.objects.for_tenant(tenant).exists()


def test_an_event_moves_the_contact_forward_with_the_rule_as_actor(tenant, sales, rules):
    contact = ContactFactory(tenant=tenant)
    event, created = event_log(contact=contact, actor=sales, kind="consultation_call")
    assert created
    assert fresh(contact).stage == "sql"
    change = StageChange.objects.for_tenant(tenant).get()
    assert (change.channel, change.actor, change.from_stage) == ("rule", None, "subscriber")
    # the built-in rule's title as it read, in the company's language (zh-hans by default), and
    # the key it is made of, so that pages say it in the reader's language
    assert change.actor_label == "来电咨询课程 → 销售合格"
    assert change.rule_kind == "consultation_call"
    assert event.outcome == [
        {"rule": event.outcome[0]["rule"], "name": change.actor_label,
         "title_key": {"kind": "consultation_call", "to": "sql"},
         "done": [{"moved": "sql"}], "why": []}
    ]  # fmt: skip


def test_rules_never_move_backward_and_say_why(tenant, sales, rules):
    contact = ContactFactory(tenant=tenant, stage="customer")
    with translation.override("en"):
        event, _ = event_log(contact=contact, actor=sales, kind="form_submitted")
    assert fresh(contact).stage == "customer"
    assert event.outcome[0]["why"] == [{"code": "backward_not_allowed"}]
    assert describe(event.outcome, {})[0][2] == ["not moved: rules never move a contact back"]
    assert not StageChange.objects.for_tenant(tenant).exists()


def test_a_payment_amount_fills_the_expected_amount_an_opportunity_needs(tenant, sales, rules):
    contact = ContactFactory(tenant=tenant, stage="sql")
    event_log(contact=contact, actor=sales, kind="payment_intent", amount=3680)
    contact = fresh(contact)
    assert (contact.stage, contact.expected_amount) == ("opportunity", 3680)


def test_a_rule_that_cannot_apply_records_why(tenant, sales, rules):
    contact = ContactFactory(tenant=tenant, stage="sql")
    with translation.override("en"):
        event, _ = event_log(contact=contact, actor=sales, kind="payment_intent")
    assert fresh(contact).stage == "sql"
    assert event.outcome[0]["why"] == [{"code": "missing", "missing": ["expected_amount"]}]
    assert describe(event.outcome, {})[0][2] == [
        "not moved: entering this stage needs an expected amount"
    ]
    with translation.override("zh-hans"):
        assert describe(event.outcome, {})[0][2] == ["未移动：进入此阶段需要预计金额"]


def test_the_same_event_arriving_twice_is_recorded_once(tenant, sales, rules):
    contact = ContactFactory(tenant=tenant)
    first, created = event_log(
        contact=contact, actor=None, kind="payment_received", channel="api", external_id="order-1"
    )
    again, created_again = event_log(
        contact=contact, actor=None, kind="payment_received", channel="api", external_id="order-1"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Event.objects.for_tenant(tenant).count() == 1
    assert StageChange.objects.for_tenant(tenant).count() == 1


def test_a_repeated_event_without_an_id_changes_nothing_more(tenant, sales, rules, make_tag):
    attended = make_tag("活动", "活动参与者")
    rule_save(tenant=tenant, actor=None, name="到场", event_kind="event_attended",
              add_tags=[attended])  # fmt: skip
    contact = ContactFactory(tenant=tenant)
    event_log(contact=contact, actor=sales, kind="event_attended")
    second, _ = event_log(contact=contact, actor=sales, kind="event_attended")
    assert ContactTag.objects.for_tenant(tenant).count() == 1
    assert second.outcome[0]["done"] == []


def test_rules_add_and_remove_tags_recorded_with_the_rule(tenant, sales, rules, make_tag):
    attended = make_tag("活动", "活动参与者")
    cold = make_tag("意向", "冷淡")
    rule = rule_save(
        tenant=tenant, actor=None, name="参加活动", event_kind="event_attended",
        add_tags=[attended], remove_tags=[cold],
    )  # fmt: skip
    contact = ContactFactory(tenant=tenant)
    ContactTag.objects.create(tenant=tenant, contact=contact, tag=cold)
    event_log(contact=contact, actor=sales, kind="event_attended")
    held = ContactTag.objects.for_tenant(tenant).get(contact=contact)
    assert (held.tag, held.rule, held.channel) == (attended, rule, "rule")


def test_only_admins_change_rules(tenant, marketer):
    with pytest.raises(ServiceError):
        rule_save(tenant=tenant, actor=marketer, name="x", event_kind="paid", to_stage="sql")


def test_a_rule_must_do_something_and_not_contradict_itself(tenant, admin, make_tag):
    tag = make_tag("a", "b")
    with pytest.raises(ServiceError, match="needs something to do"):
        rule_save(tenant=tenant, actor=admin, name="x", event_kind="payment_received")
    with pytest.raises(ServiceError, match="both add and remove"):
        rule_save(tenant=tenant, actor=admin, name="x", event_kind="payment_received",
                  add_tags=[tag], remove_tags=[tag])  # fmt: skip


def test_tenant_defined_kinds_can_be_logged_and_ruled(tenant, admin, sales):
    kind = event_kind_create(tenant=tenant, actor=admin, label="Webinar")
    rule_save(tenant=tenant, actor=admin, name="w", event_kind=kind.key, to_stage="mql")
    contact = ContactFactory(tenant=tenant)
    event_log(contact=contact, actor=sales, kind=kind.key)
    assert fresh(contact).stage == "mql"
    with pytest.raises(ServiceError):
        event_log(contact=contact, actor=sales, kind="not-a-kind")


def test_logging_from_the_contact_page_shows_what_the_rules_did(sales_client, tenant, rules):
    contact = ContactFactory(tenant=tenant, name="李娜")
    response = sales_client.post(
        reverse("contact_event_log", args=[tenant.slug, contact.pk]),
        {"kind": "price_list_downloaded", "note": "公开课后领取"},
        follow=True,
    )
    html = response.content.decode()
    assert "Logged: Downloaded the price list." in html
    assert "moved to “Marketing qualified lead”" in html
    assert fresh(contact).stage == "mql"
    # the timeline shows the event with its outcome and the stage change
    assert "公开课后领取" in html and "Moved from Subscriber to Marketing qualified lead" in html


def test_a_future_event_is_refused_clearly(sales_client, tenant):
    contact = ContactFactory(tenant=tenant)
    response = sales_client.post(
        reverse("contact_event_log", args=[tenant.slug, contact.pk]),
        {"kind": "trial_booked", "occurred_at": "2999-01-01T10:00"},
        follow=True,
    )
    assert "An event cannot be in the future." in response.content.decode()
    assert not Event.objects.for_tenant(tenant).exists()


def test_a_refused_event_comes_back_as_it_was_typed(sales_client, tenant, sales):
    """In place (htmx): the kind chosen, the amount, the time and the note as typed, the reason
    beside the field, in the reader's language; nothing recorded."""
    contact = ContactFactory(tenant=tenant, stage="sql")
    url = reverse("contact_event_log", args=[tenant.slug, contact.pk])
    typed = {"kind": "payment_intent", "amount": "3680", "occurred_at": "2999-01-01T10:00",
             "note": "下周一付款"}  # fmt: skip
    response = sales_client.post(url, typed, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # the panel, swapped in place
    assert '<option value="payment_intent" selected>Said they will pay</option>' in html
    assert 'id="id_amount" value="3680"' in html
    assert 'id="id_occurred_at" value="2999-01-01T10:00"' in html
    assert 'id="id_note" value="下周一付款"' in html
    assert (
        '<p class="error" id="id_occurred_at_error" role="alert">An event cannot be in the future.'
        in html
    )
    sales.user.language = "zh-hans"
    sales.user.save(update_fields=["language"])
    html = sales_client.post(
        url, {**typed, "amount": "-5"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "事件的发生时间不能晚于现在。" in html and 'id="id_amount" value="-5"' in html
    assert '<option value="payment_intent" selected>' in html
    assert not Event.objects.for_tenant(tenant).exists()
    assert fresh(contact).stage == "sql"


def test_a_payment_intent_without_its_amount_asks_for_it_first(sales_client, tenant, rules):
    """It would move nobody (待付费 needs an expected amount): the form asks for the amount,
    keeping the kind and note; nothing is recorded until the amount is typed or the
    salesperson logs it without one."""
    contact = ContactFactory(tenant=tenant, stage="sql")
    url = reverse("contact_event_log", args=[tenant.slug, contact.pk])
    typed = {"kind": "payment_intent", "amount": "", "note": "说下周付款"}
    html = sales_client.post(url, typed, HTTP_HX_REQUEST="true").content.decode()
    assert (
        "“Said they will pay” moves the contact to “Opportunity”, which needs an expected "
        "amount: type it, or log it without one (the contact then stays where it is)." in html
    )
    assert '<option value="payment_intent" selected>' in html
    assert 'id="id_note" value="说下周付款"' in html
    assert '<button type="submit" name="without_amount" value="1">Log without an amount' in html
    assert not Event.objects.for_tenant(tenant).exists()
    response = sales_client.post(url, {**typed, "without_amount": "1"}, HTTP_HX_REQUEST="true")
    assert "HX-Redirect" in response
    event = Event.objects.for_tenant(tenant).get()
    assert (event.kind, event.amount, event.note) == ("payment_intent", None, "说下周付款")
    assert fresh(contact).stage == "sql"  # and its history says why it did not move


def test_no_amount_is_asked_when_the_move_needs_none_or_cannot_happen(sales_client, tenant, rules):
    has_amount = ContactFactory(tenant=tenant, stage="sql", expected_amount=5000)
    past_it = ContactFactory(tenant=tenant, stage="customer")
    for contact in (has_amount, past_it):
        response = sales_client.post(
            reverse("contact_event_log", args=[tenant.slug, contact.pk]),
            {"kind": "payment_intent"},
            HTTP_HX_REQUEST="true",
        )
        assert "HX-Redirect" in response
    assert fresh(has_amount).stage == "opportunity"
    assert Event.objects.for_tenant(tenant).count() == 2


def test_an_event_logged_in_place_reloads_the_contact_page(sales_client, tenant, rules):
    """The rules may have moved and tagged the contact: the whole page shows it."""
    contact = ContactFactory(tenant=tenant, stage="sql")
    response = sales_client.post(
        reverse("contact_event_log", args=[tenant.slug, contact.pk]),
        {"kind": "payment_intent", "amount": "3680"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Redirect"] == reverse("contact_detail", args=[tenant.slug, contact.pk])
    assert fresh(contact).stage == "opportunity"
    page = sales_client.get(response["HX-Redirect"]).content.decode()
    assert "Logged: Said they will pay." in page


def test_another_companys_contact_takes_no_event(tenant, outsider):
    contact = ContactFactory(tenant=tenant)
    response = client_for(outsider).post(
        reverse("contact_event_log", args=[outsider.tenant.slug, contact.pk]),
        {"kind": "trial_booked"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 404
    assert not Event.objects.for_tenant(tenant).exists()


def test_admin_edits_a_rule_on_its_page(admin_client, tenant, rules, make_tag):
    vip = make_tag("客户分级", "金卡")
    rule = Rule.objects.for_tenant(tenant).get(event_kind="payment_received")
    response = admin_client.post(
        reverse("rule_edit", args=[tenant.slug, rule.pk]),
        {"name": "付款 → 学员 + 金卡", "event_kind": "payment_received", "to_stage": "customer",
         "add_tags": [vip.pk], "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, list(rule.add_tags.all())) == ("付款 → 学员 + 金卡", [vip])
    page = admin_client.get(reverse("rule_list", args=[tenant.slug])).content.decode()
    assert "付款 → 学员 + 金卡" in page and "金卡" in page


def test_marketers_and_sales_cannot_open_the_rules(marketer_client, sales_client, tenant):
    for client in (marketer_client, sales_client):
        assert client.get(reverse("rule_list", args=[tenant.slug])).status_code == 403


def test_the_rules_page_offers_defaults_to_a_company_without_them(admin_client, tenant):
    page = admin_client.get(reverse("rule_list", args=[tenant.slug])).content.decode()
    assert "Add the default rules" in page
    assert not Rule.objects.for_tenant(tenant).exists()  # a GET changes nothing
    admin_client.post(reverse("rules_add_defaults", args=[tenant.slug]))
    assert Rule.objects.for_tenant(tenant).count() == 7
    page = admin_client.get(reverse("rule_list", args=[tenant.slug])).content.decode()
    assert reverse("rules_add_defaults", args=[tenant.slug]) not in page  # nothing more to offer


def started_before_the_trial_rule(tenant):
    """A company as it was before "booked a trial → MQL" was a default: the seed's six rules,
    recorded as given (migration tagging 0019)."""
    rules_ensure_defaults(tenant=tenant)
    Rule.objects.for_tenant(tenant).filter(event_kind="trial_booked").delete()
    TaggingDefaults.objects.for_tenant(tenant).update(kinds=[k for k, _ in SIX_BEFORE])


SIX_BEFORE = [
    ("form_submitted", "lead"),
    ("price_list_downloaded", "mql"),
    ("consultation_call", "sql"),
    ("payment_intent", "opportunity"),
    ("payment_received", "customer"),
    ("referral_joined", "evangelist"),
]


def test_an_existing_company_adds_the_trial_rule_with_the_button_once(admin_client, tenant):
    started_before_the_trial_rule(tenant)
    rules_page = reverse("rule_list", args=[tenant.slug])
    page = admin_client.get(rules_page).content.decode()
    assert "Add the new default rule" in page
    assert "Booked a trial class → Marketing qualified lead" in page
    response = admin_client.post(reverse("rules_add_defaults", args=[tenant.slug]), follow=True)
    assert "Added 1 default rule." in response.content.decode()
    kinds = [(r.event_kind, r.to_stage) for r in Rule.objects.for_tenant(tenant)]
    assert kinds == [*SIX_BEFORE, ("trial_booked", "mql")]  # the six once each, the new one last
    page = admin_client.get(rules_page).content.decode()
    assert reverse("rules_add_defaults", args=[tenant.slug]) not in page
    admin_client.post(reverse("rules_add_defaults", args=[tenant.slug]))  # twice: nothing more
    assert Rule.objects.for_tenant(tenant).count() == 7
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.RULE_SAVED)
    assert entry.details["event"] == "trial_booked"


def test_a_deleted_default_rule_is_not_offered_again(admin_client, tenant):
    started_before_the_trial_rule(tenant)
    admin_client.post(reverse("rules_add_defaults", args=[tenant.slug]))
    Rule.objects.for_tenant(tenant).filter(event_kind="price_list_downloaded").delete()
    Rule.objects.for_tenant(tenant).filter(event_kind="trial_booked").delete()
    page = admin_client.get(reverse("rule_list", args=[tenant.slug])).content.decode()
    assert reverse("rules_add_defaults", args=[tenant.slug]) not in page
    admin_client.post(reverse("rules_add_defaults", args=[tenant.slug]))
    assert (
        not Rule.objects.for_tenant(tenant)
        .filter(event_kind__in=["price_list_downloaded", "trial_booked"])
        .exists()
    )


def test_a_company_with_its_own_trial_rule_keeps_it_alone(admin_client, tenant, admin):
    started_before_the_trial_rule(tenant)
    own = rule_save(tenant=tenant, actor=admin, name="试听 → SQL", event_kind="trial_booked",
                    to_stage="sql")  # fmt: skip
    response = admin_client.post(reverse("rules_add_defaults", args=[tenant.slug]), follow=True)
    assert (
        "Not added: you have a rule moving contacts on “Booked a trial class” already."
        in response.content.decode()
    )
    assert list(Rule.objects.for_tenant(tenant).filter(event_kind="trial_booked")) == [own]
    page = admin_client.get(reverse("rule_list", args=[tenant.slug])).content.decode()
    assert reverse("rules_add_defaults", args=[tenant.slug]) not in page


def test_only_admins_add_the_default_rules(marketer_client, sales_client, tenant, outsider):
    started_before_the_trial_rule(tenant)
    for client in (marketer_client, sales_client):
        assert client.post(reverse("rules_add_defaults", args=[tenant.slug])).status_code == 403
    rival = client_for(outsider)
    assert rival.post(reverse("rules_add_defaults", args=[tenant.slug])).status_code == 404
    assert Rule.objects.for_tenant(tenant).count() == 6
    assert rules_defaults_offered(tenant=tenant) == [("trial_booked", "mql")]


def test_booking_a_trial_makes_a_lead_marketing_qualified(sales_client, tenant, rules):
    lead = ContactFactory(tenant=tenant, stage="lead", phone="13800000000")
    page = reverse("contact_detail", args=[tenant.slug, lead.pk])
    response = sales_client.post(
        reverse("contact_event_log", args=[tenant.slug, lead.pk]),
        {"kind": "trial_booked", "note": "周六体验课"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == page
    assert fresh(lead).stage == "mql"
    change = StageChange.objects.for_tenant(tenant).get()
    assert (change.from_stage, change.to_stage, change.channel) == ("lead", "mql", "rule")


def test_the_history_reads_in_the_readers_language(tenant, sales, rules, admin_client):
    contact = ContactFactory(tenant=tenant, stage="customer")
    with translation.override("zh-hans"):
        event_log(contact=contact, actor=sales, kind="price_list_downloaded")
        event_log(contact=ContactFactory(tenant=tenant), actor=sales, kind="trial_booked")
    other = ContactFactory(tenant=tenant)
    with translation.override("zh-hans"):
        event_log(contact=other, actor=sales, kind="price_list_downloaded")
    html = admin_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk])).content
    assert "not moved: rules never move a contact back" in html.decode()
    html = admin_client.get(reverse("contact_detail", args=[tenant.slug, other.pk])).content
    assert "moved to “Marketing qualified lead”" in html.decode()
    assert "已移动" not in html.decode()


def test_the_event_service_refuses_a_future_time_and_another_contacts_external_id(tenant, sales):
    """Whoever logs it (a page, the API, a script), the same rules: nothing recorded."""
    zhang, li = ContactFactory(tenant=tenant), ContactFactory(tenant=tenant)
    with pytest.raises(ServiceError, match="cannot be in the future"):
        event_log(contact=zhang, actor=sales, kind="consultation_call",
                  occurred_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    first, created = event_log(contact=zhang, actor=sales, kind="consultation_call",
                               external_id="form-42")  # fmt: skip
    assert created
    again, created = event_log(contact=zhang, actor=sales, kind="consultation_call",
                               external_id="form-42")  # fmt: skip
    assert (again, created) == (first, False)
    with pytest.raises(ServiceError, match="already used for another contact"):
        event_log(contact=li, actor=sales, kind="consultation_call", external_id="form-42")
    assert Event.objects.for_tenant(tenant).count() == 1


def test_a_kind_an_admin_adds_is_offered_on_the_contact_page_at_once(sales_client, tenant, admin):
    contact = ContactFactory(tenant=tenant)
    page = reverse("contact_detail", args=[tenant.slug, contact.pk])
    assert "Webinar" not in sales_client.get(page).content.decode()  # the kinds are cached now
    kind = event_kind_create(tenant=tenant, actor=admin, label="Webinar")
    html = sales_client.get(page).content.decode()
    assert f'<option value="{kind.key}">Webinar</option>' in html
    assert '<option value="trial_booked">Booked a trial class</option>' in html
    assert 'name="note" maxlength="500"' in html


def test_the_history_names_who_did_each_thing_and_a_removed_member_stays_unnamed(
    admin_client, tenant, sales, admin
):
    contact = ContactFactory(tenant=tenant, stage="subscriber")
    contact_stage_move(contact=contact, actor=sales, to_stage="lead")
    event_log(contact=fresh(contact), actor=admin, kind="price_list_downloaded", note="公开课")
    page = reverse("contact_timeline", args=[tenant.slug, contact.pk])
    html = admin_client.get(page).content.decode()
    assert f"· {sales.display_name} · By hand" in html
    assert f"· {admin.display_name} · By hand" in html
    sales.delete()  # their moves stay, without a name
    html = admin_client.get(page).content.decode()
    assert sales.display_name not in html and "someone no longer here" in html
