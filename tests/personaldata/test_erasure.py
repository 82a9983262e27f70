"""王小雨 asks to be forgotten: the admin opens her contact, then Personal data, then Erase, types
her number and confirms. Nothing that named her is left in the company's tables; the funnel's
figures stay as they were; she leaves every audience and frozen list; receivers hear
`contact.erased`; nobody finds her again by her old phone or email."""

import pytest
from django.db import connection
from django.urls import reverse

from activities.services import activity_log, task_create
from audiences.models import (
    Audience,
    AudienceMember,
    AudienceSnapshot,
    AudienceSnapshotMember,
)
from audiences.services import audience_recompute
from crm.merges import contact_merge
from crm.models import AuditEntry, AuditKind, Contact
from crm.selectors import ContactFilters, contact_duplicates, contacts_matching
from crm.services import ContactData, ServiceError, contact_update
from integrations.models import WebhookDelivery, WebhookEndpoint
from lifecycle.analytics import funnel_recompute, funnel_stats_compute
from lifecycle.models import StageChange
from personaldata.erasure import contact_erase, erased_name
from spreadsheets.models import ImportJob
from tagging.models import Event
from tests.factories import ContactFactory
from tests.personaldata.conftest import EMAIL, NAME, PHONE, WECHAT


def _url(name, tenant, contact):
    return reverse(name, args=[tenant.slug, contact.pk])


def _erase_by_clicks(client, tenant, person):
    page = client.get(_url("contact_detail", tenant, person)).content.decode()
    assert _url("contact_data", tenant, person) in page  # click 1
    data = client.get(_url("contact_data", tenant, person)).content.decode()
    assert _url("contact_erase", tenant, person) in data  # click 2
    confirm = client.get(_url("contact_erase", tenant, person)).content.decode()
    assert "cannot be undone" in confirm
    # click 3: the number typed in, then "Erase for good"
    return client.post(_url("contact_erase", tenant, person), {"confirm": str(person.pk)})


def _text_values_in(tenant, values: set[str]) -> list[str]:
    """Every text, JSON and binary column of every table, in the rows of `tenant` (or all rows
    where a table has no tenant), searched for each value: where it is still found."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('character varying', 'text', 'jsonb', 'json', 'bytea', "
            "'character', 'ARRAY')"
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id'"
        )
        tenanted = {row[0] for row in cursor.fetchall()}
        for table, column, kind in columns:
            text = (f'convert_from("{column}", \'UTF8\')' if kind == "bytea"
                    else f'"{column}"::text')  # fmt: skip
            where = f'WHERE "tenant_id" = {int(tenant.pk)}' if table in tenanted else ""
            for value in values:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" {where} '  # noqa: S608 - names from the catalogue
                    f"{'AND' if where else 'WHERE'} position(%s in {text}) > 0",
                    [value],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column}: {value}")
    return found


def test_the_admin_erases_a_person_in_three_clicks(admin_client, admin, tenant, person):
    response = _erase_by_clicks(admin_client, tenant, person)
    assert response.status_code == 302
    assert response["Location"] == _url("contact_detail", tenant, person)
    person.refresh_from_db()
    assert person.erased_at is not None
    # the placeholder, in the company's language (已删除的联系人 #12 in Chinese)
    assert person.name == erased_name(person) and person.name.endswith(f"#{person.pk}")
    assert (person.phone, person.email, person.wechat_id, person.company, person.notes) == (
        "", "", "", "", ""
    )  # fmt: skip
    assert person.custom == {}
    page = admin_client.get(_url("contact_detail", tenant, person)).content.decode()
    assert "Erased at the person's request" in page
    assert _url("contact_edit", tenant, person) not in page
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.CONTACT_ERASED)
    assert (entry.actor_id, entry.subject, entry.details) == (
        admin.pk, f"#{person.pk}", {"contact": person.pk}
    )  # fmt: skip


def test_after_erasure_no_personal_value_remains_anywhere(admin, tenant, person):
    values = {NAME, PHONE, EMAIL, WECHAT, "小雨科技", "old.xiaoyu@example.com"}
    assert len(_text_values_in(tenant, values)) > 5  # the scan finds what is there
    contact_erase(contact=person, actor=admin)
    assert _text_values_in(tenant, values) == []


def test_the_funnel_counts_and_history_stay_as_they_were(admin, tenant, person):
    def figures():
        counts = sorted((c.stage, c.status, c.count) for c in funnel_recompute(tenant=tenant))
        stats = funnel_stats_compute(tenant=tenant, contacts=Contact.objects.for_tenant(tenant))
        history = list(
            StageChange.objects.for_tenant(tenant)
            .order_by("pk")
            .values_list("contact_id", "kind", "from_stage", "to_stage", "created_at")
        )
        events = list(Event.objects.for_tenant(tenant).order_by("pk").values_list("kind", "amount"))
        return counts, stats, history, events

    before = figures()
    contact_erase(contact=person, actor=admin)
    assert figures() == before


def test_she_leaves_every_audience_and_frozen_list_and_stays_out(admin, tenant, person):
    audiences = list(Audience.objects.for_tenant(tenant))
    assert AudienceMember.objects.for_tenant(tenant).filter(contact=person).count() == 2
    contact_erase(contact=person, actor=admin)
    assert not AudienceMember.objects.for_tenant(tenant).filter(contact=person).exists()
    assert not AudienceSnapshotMember.objects.for_tenant(tenant).filter(contact=person).exists()
    assert AudienceSnapshot.objects.for_tenant(tenant).get().size == 0
    for audience in audiences:
        audience.refresh_from_db()
        assert audience.size == 0
        audience_recompute(audience=audience)  # her stage and tags still match: still out
        assert not AudienceMember.objects.for_tenant(tenant).filter(contact=person).exists()


def test_receivers_hear_contact_erased(admin, tenant, person):
    WebhookEndpoint.objects.create(tenant=tenant, url="https://hooks.example.com/in",
                                   events=["contact.erased"], secret="s")  # fmt: skip
    contact_erase(contact=person, actor=admin)
    delivery = WebhookDelivery.objects.for_tenant(tenant).get(event="contact.erased")
    assert delivery.contact_id == person.pk


def test_nobody_finds_her_again_by_her_old_phone_or_email(admin, tenant, person):
    contact_erase(contact=person, actor=admin)
    assert contact_duplicates(tenant=tenant, email=EMAIL, phone=PHONE, wechat_id=WECHAT) == {}
    for term in (PHONE, EMAIL, NAME, PHONE[-4:]):
        found = contacts_matching(tenant=tenant, filters=ContactFilters(q=term), viewer=admin)
        assert not found.filter(pk=person.pk).exists(), term
    # she may come back as a new contact; she is not made into the erased one
    again = ContactFactory(tenant=tenant, name=NAME, phone=PHONE, email=EMAIL)
    assert again.pk != person.pk


def test_an_erased_contact_is_neither_erased_twice_nor_edited_back_into_a_person(
    admin, admin_client, tenant, person
):
    contact_erase(contact=person, actor=admin)
    person.refresh_from_db()
    with pytest.raises(ServiceError, match="already erased"):
        contact_erase(contact=person, actor=admin)
    with pytest.raises(ServiceError, match="cannot be edited"):
        contact_update(contact=person, actor=admin, data=ContactData(name=NAME, phone=PHONE))
    other = ContactFactory(tenant=tenant, name="李四")
    for survivor, merged in ((person, other), (other, person)):
        with pytest.raises(ServiceError, match="cannot be edited"):
            contact_merge(survivor=survivor, merged=merged, actor=admin, take_from_merged=set())
    with pytest.raises(ServiceError, match="cannot be edited"):
        activity_log(contact=person, actor=admin, kind="call", text=f"又和{NAME}通话")
    with pytest.raises(ServiceError, match="cannot be edited"):
        task_create(contact=person, actor=admin, title=f"回电{NAME}", due_at=person.created_at,
                    assignee=admin)  # fmt: skip
    response = admin_client.post(_url("contact_edit", tenant, person),
                                 {"name": NAME, "phone": PHONE})  # fmt: skip
    assert response.status_code == 200  # the form, with the refusal
    person.refresh_from_db()
    assert person.name == erased_name(person) and person.phone == ""
    assert AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.CONTACT_ERASED).count() == 1


def _nothing_erased(tenant, person):
    person.refresh_from_db()
    assert person.erased_at is None and person.name == NAME and person.phone == PHONE
    assert not AuditEntry.objects.filter(kind=AuditKind.CONTACT_ERASED).exists()


def test_sales_and_marketers_are_refused(sales_client, marketer_client, sales, tenant, person):
    for client in (sales_client, marketer_client):
        assert client.get(_url("contact_erase", tenant, person)).status_code == 403
        response = client.post(_url("contact_erase", tenant, person), {"confirm": str(person.pk)})
        assert response.status_code == 403
    with pytest.raises(ServiceError):
        contact_erase(contact=person, actor=sales)
    _nothing_erased(tenant, person)


def test_another_companys_contact_is_not_found(outsider_client, other_tenant, tenant, person):
    url = reverse("contact_erase", args=[other_tenant.slug, person.pk])
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"confirm": str(person.pk)}).status_code == 404
    _nothing_erased(tenant, person)


def test_a_wrong_number_typed_erases_nothing(admin_client, tenant, person):
    response = admin_client.post(_url("contact_erase", tenant, person), {"confirm": "yes"})
    assert response.status_code == 400
    _nothing_erased(tenant, person)


def test_refused_while_an_import_holds_her(admin, admin_client, tenant, person):
    content = f"姓名,手机\n{NAME},{PHONE}\n".encode()
    job = ImportJob.objects.create(tenant=tenant, created_by=admin, file_name="十二月名单.csv",
                                   content=content, kind="csv", status=ImportJob.RUNNING,
                                   mapping={"0": "name", "1": "phone"})  # fmt: skip
    page = admin_client.get(_url("contact_erase", tenant, person)).content.decode()
    assert "十二月名单.csv" in page
    response = admin_client.post(_url("contact_erase", tenant, person), {"confirm": str(person.pk)})
    assert response.status_code == 400
    assert "十二月名单.csv" in response.content.decode()
    _nothing_erased(tenant, person)
    # once the import is done, she can be erased, and its file, which lists her, goes
    ImportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(status=ImportJob.DONE)
    contact_erase(contact=person, actor=admin)
    job.refresh_from_db()
    assert bytes(job.content) == b""
