"""Consent to be contacted, per contact and channel (crm/consent.py): recorded by hand on the
contact page, kept as history, audited; the state is the latest word, unknown until one."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.consent import (
    GRANTED,
    UNKNOWN,
    WITHDRAWN,
    consent_grant,
    consent_states,
    consent_withdraw,
    consent_word,
)
from crm.merges import contact_merge
from crm.models import AuditEntry, AuditKind, Consent, ConsentSource
from crm.services import NotAllowed, ServiceError
from tests.factories import ContactFactory


def _url(tenant, contact) -> str:
    return reverse("contact_consent", args=[tenant.slug, contact.pk])


def _states(contact) -> dict[str, str]:
    return {item.channel: item.state for item in consent_states(contact=contact)}


def test_a_contact_starts_unknown_on_every_channel(contact):
    assert _states(contact) == {"email": UNKNOWN, "sms": UNKNOWN, "phone": UNKNOWN,
                                "wechat": UNKNOWN}  # fmt: skip


def test_a_marketer_records_by_hand_that_the_customer_agreed_to_sms(
    marketer_client, marketer, tenant, contact
):
    """张伟 said on the phone he is happy to get SMS: the marketer presses 短信 → Grant."""
    response = marketer_client.post(_url(tenant, contact), {"channel": "sms", "granted": "1"},
                                    HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="consent-panel"' in page and "Consent for SMS recorded as granted." in page
    assert _states(contact)["sms"] == GRANTED
    row = Consent.objects.for_tenant(tenant).get(contact=contact)
    assert (row.channel, row.granted, row.source, row.actor, row.actor_label) == (
        "sms", True, ConsentSource.HAND, marketer, "li",
    )  # fmt: skip
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.CONSENT_GRANTED)
    assert (entry.actor, entry.subject, entry.details) == (
        marketer, "张伟", {"contact": contact.pk, "channel": "sms", "source": "hand"},
    )  # fmt: skip
    # the contact page shows it: the channel, its state, since when and how
    detail = marketer_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk]))
    text = detail.content.decode()
    assert "Consent to be contacted" in text and "By hand" in text and "Granted" in text


def test_withdrawal_is_kept_as_history_and_the_latest_word_counts(marketer, sales, contact):
    consent_grant(contact=contact, channel="email", actor=marketer)
    consent_withdraw(contact=contact, channel="email", actor=sales)
    assert _states(contact)["email"] == WITHDRAWN
    rows = Consent.objects.for_tenant(contact.tenant).filter(contact=contact).order_by("id")
    assert [(r.granted, r.actor_label) for r in rows] == [(True, "li"), (False, "zhao")]
    # saying it again writes nothing
    assert consent_withdraw(contact=contact, channel="email", actor=sales) is None
    assert rows.count() == 2


def test_sales_record_a_withdrawal_but_may_not_record_a_grant(sales_client, sales, tenant, contact):
    refused = sales_client.post(_url(tenant, contact), {"channel": "wechat", "granted": "1"})
    assert refused.status_code == 403
    assert not Consent.objects.for_tenant(tenant).exists()
    assert not AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.CONSENT_GRANTED)
    with pytest.raises(NotAllowed):
        consent_grant(contact=contact, channel="wechat", actor=sales)
    # the page offers them no grant button, only withdrawals
    page = sales_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk]))
    assert 'name="granted" value="1"' not in page.content.decode()
    assert 'name="granted" value="0"' in page.content.decode()
    done = sales_client.post(_url(tenant, contact), {"channel": "wechat", "granted": "0"})
    assert done.status_code == 302  # without htmx: back to the contact page
    assert _states(contact)["wechat"] == WITHDRAWN


def test_another_companys_contact_is_not_found(admin_client, tenant, foreign_contact):
    response = admin_client.post(
        reverse("contact_consent", args=[tenant.slug, foreign_contact.pk]),
        {"channel": "sms", "granted": "1"},
    )
    assert response.status_code == 404
    assert not Consent.objects.for_tenant(foreign_contact.tenant).exists()


def test_an_unknown_channel_or_a_get_changes_nothing(admin_client, admin, tenant, contact):
    url = _url(tenant, contact)
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, {"channel": "fax", "granted": "1"}, HTTP_HX_REQUEST="true")
    assert "Choose a channel and grant or withdraw." in response.content.decode()
    with pytest.raises(ServiceError):
        consent_grant(contact=contact, channel="fax", actor=admin)
    assert not Consent.objects.for_tenant(tenant).exists()


def test_the_form_needs_the_csrf_token(admin, tenant, contact):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    response = client.post(_url(tenant, contact), {"channel": "sms", "granted": "1"})
    assert response.status_code == 403
    assert not Consent.objects.for_tenant(tenant).exists()


def test_the_audit_log_says_which_channel_and_how(admin_client, admin, tenant, contact):
    consent_withdraw(contact=contact, channel="phone", actor=admin)
    page = admin_client.get(reverse("audit_log", args=[tenant.slug])).content.decode()
    assert "Consent withdrawn" in page and "Phone calls" in page and "By hand" in page


def test_a_merge_keeps_both_contacts_consent_and_the_latest_word(admin, tenant, contact):
    other = ContactFactory(tenant=tenant, name="张伟", phone="13800138001")
    consent_grant(contact=contact, channel="sms", actor=admin)
    consent_grant(contact=other, channel="email", actor=admin)
    consent_withdraw(contact=other, channel="sms", actor=admin)  # his latest word on SMS
    contact_merge(survivor=contact, merged=other, actor=admin, take_from_merged=set())
    assert _states(contact) == {"email": GRANTED, "sms": WITHDRAWN, "phone": UNKNOWN,
                                "wechat": UNKNOWN}  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "said"),
    [("是", True), ("同意", True), ("Yes", True), (" y ", True), ("否", False), ("拒绝", False),
     ("no", False), ("", None), ("也许", None), ("maybe", None)],
)  # fmt: skip
def test_yes_and_no_as_files_and_integrations_write_them(cell, said):
    assert consent_word(cell) is said
