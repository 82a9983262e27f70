"""A phone, email or WeChat ID already someone's is refused on the contact form with a link to
the contact who holds it: on create and on edit, however the channel is written, and when the
database's unique constraint is what notices (someone saved it a moment before us). Another
company's contacts are never named, and an erased person holds nothing."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse

from crm import services
from crm.models import Contact
from crm.services import ContactData, DuplicateContactError, contact_create
from personaldata.erasure import contact_erase
from tests.factories import ContactFactory


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


def link_to(tenant, contact) -> str:
    return f'<a href="{url("contact_detail", tenant, contact.pk)}">{contact.name}</a>'


@pytest.fixture
def holder(tenant):
    return ContactFactory(tenant=tenant, name="张伟", phone="13800138000",
                          email="zhangwei@qq.com", wechat_id="zw_chat")  # fmt: skip


# how each channel may be typed for the one the holder has: +86, spaces, full width, case
TYPED = [
    ("phone", "+86 138 0013 8000"),
    ("phone", "１３８００１３８０００"),
    ("email", " ZhangWei@QQ.COM "),
    ("wechat_id", "ZW_Chat"),
]


@pytest.mark.parametrize("field, typed", TYPED)
def test_a_new_contact_with_someones_channel_is_refused_with_a_link_to_them(
    sales_client, tenant, holder, field, typed
):
    response = sales_client.post(url("contact_create", tenant), {"name": "张伟", field: typed})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        field: [f"Already used by {link_to(tenant, holder)}."]
    }
    assert link_to(tenant, holder) in response.content.decode()
    assert list(Contact.objects.for_tenant(tenant)) == [holder]


@pytest.mark.parametrize("field, typed", TYPED)
def test_an_edit_to_someones_channel_is_refused_with_a_link_to_them(
    sales_client, tenant, holder, field, typed
):
    other = ContactFactory(tenant=tenant, name="李娜", phone="13900001111", email="lina@qq.com")
    response = sales_client.post(
        url("contact_edit", tenant, other.pk),
        {"name": "李娜", "phone": "13900001111", "email": "lina@qq.com", field: typed},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        field: [f"Already used by {link_to(tenant, holder)}."]
    }
    other.refresh_from_db()
    assert (other.phone, other.email, other.wechat_id) == ("13900001111", "lina@qq.com", "")


def test_each_channel_held_links_to_its_own_holder(sales_client, tenant, holder):
    by_email = ContactFactory(tenant=tenant, name="张伟", phone="", email="zw2@qq.com")
    response = sales_client.post(
        url("contact_create", tenant),
        {"name": "张伟", "phone": "13800138000", "email": "ZW2@qq.com", "wechat_id": "zw_chat"},
    )
    assert response.context["form"].errors == {
        "phone": [f"Already used by {link_to(tenant, holder)}."],
        "email": [f"Already used by {link_to(tenant, by_email)}."],
        "wechat_id": [f"Already used by {link_to(tenant, holder)}."],
    }


def _checks_blind_once(monkeypatch, then=None):
    """The form's check misses the holder once, as when they are saved between our check and our
    write: the database's unique constraint refuses the write instead."""
    real, calls = services.contact_duplicates, []

    def check(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return {}
        if then is not None:
            then()
        return real(**kwargs)

    monkeypatch.setattr(services, "contact_duplicates", check)
    return calls


def test_a_clash_the_database_catches_on_create_is_linked_too(
    sales_client, tenant, holder, monkeypatch
):
    calls = _checks_blind_once(monkeypatch)
    response = sales_client.post(
        url("contact_create", tenant), {"name": "x", "phone": "13800138000"}
    )
    assert len(calls) == 2  # the write was refused by the constraint, then the holder looked up
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "phone": [f"Already used by {link_to(tenant, holder)}."]
    }
    assert list(Contact.objects.for_tenant(tenant)) == [holder]


def test_a_clash_the_database_catches_on_edit_is_linked_too(
    sales_client, tenant, holder, monkeypatch
):
    other = ContactFactory(tenant=tenant, name="李娜", phone="13900001111")
    calls = _checks_blind_once(monkeypatch)
    response = sales_client.post(
        url("contact_edit", tenant, other.pk), {"name": "李娜", "wechat_id": "ZW_CHAT"}
    )
    assert len(calls) == 2
    assert response.context["form"].errors == {
        "wechat_id": [f"Already used by {link_to(tenant, holder)}."]
    }
    other.refresh_from_db()
    assert (other.phone, other.wechat_id) == ("13900001111", "")


def test_a_channel_let_go_since_the_clash_is_saved_after_all(tenant, holder, monkeypatch):
    # the holder is merged away or deleted between the refused write and the second look
    gone = Contact.objects.for_tenant(tenant).filter(pk=holder.pk)
    _checks_blind_once(monkeypatch, then=lambda: gone.update(phone=""))
    saved = contact_create(
        tenant=tenant, actor=None, data=ContactData(name="x", phone="13800138000")
    )
    assert saved.phone == "13800138000"


def test_a_database_refusal_about_anything_else_is_not_called_a_duplicate(tenant, monkeypatch):
    def refuse(*args, **kwargs):
        raise IntegrityError("something else")

    monkeypatch.setattr(Contact, "save", refuse)
    with pytest.raises(IntegrityError):
        contact_create(tenant=tenant, actor=None, data=ContactData(name="x", phone="13800138000"))


@pytest.mark.django_db(transaction=True)
def test_two_people_saving_one_phone_at_once_the_second_is_told_who_has_it(tenant):
    """A real race: another member's save holds the phone, uncommitted, while ours runs; ours
    waits on the unique index, is refused when theirs commits, and names their contact."""
    inserted, first = threading.Event(), {}

    def other_member():
        try:
            with transaction.atomic():
                first["contact"] = contact_create(
                    tenant=tenant, actor=None, data=ContactData(name="先到的", phone="13700001111")
                )
                inserted.set()
                with connection.cursor() as cursor:  # commit once our insert waits on theirs
                    for _ in range(200):
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND datname = current_database()"
                        )
                        if cursor.fetchone()[0]:
                            first["ours_waited"] = True
                            break
                        threading.Event().wait(0.05)
        finally:
            inserted.set()
            connections.close_all()

    thread = threading.Thread(target=other_member)
    thread.start()
    assert inserted.wait(10)
    with pytest.raises(DuplicateContactError) as refused:
        contact_create(
            tenant=tenant, actor=None, data=ContactData(name="后到的", phone="137 0000 1111")
        )
    thread.join(10)
    assert first.get("ours_waited")  # the race happened: the unique index, not the check
    assert refused.value.duplicates == {"phone": first["contact"]}
    assert list(Contact.objects.for_tenant(tenant).values_list("name", flat=True)) == ["先到的"]


@pytest.mark.parametrize("field", ["phone", "email", "wechat_id"])
def test_another_companys_contact_with_the_channel_is_neither_a_clash_nor_named(
    sales_client, tenant, other_tenant, field
):
    theirs = ContactFactory(tenant=other_tenant, name="别人的客户", phone="13800138000",
                            email="zhangwei@qq.com", wechat_id="zw_chat")  # fmt: skip
    value = getattr(theirs, field)
    response = sales_client.post(url("contact_create", tenant), {"name": "张伟", field: value})
    assert response.status_code == 302
    mine = Contact.objects.for_tenant(tenant).get()
    assert getattr(mine, field) == value
    page = sales_client.get(response.url).content.decode()
    assert "别人的客户" not in page and f"/contacts/{theirs.pk}/" not in page


def test_an_erased_persons_old_phone_is_free_for_a_new_contact(sales_client, tenant, admin):
    old = ContactFactory(tenant=tenant, name="张伟", phone="13800138000", email="zw@qq.com")
    contact_erase(contact=old, actor=admin)
    response = sales_client.post(
        url("contact_create", tenant),
        {"name": "张伟", "phone": "13800138000", "email": "zw@qq.com"},
    )
    assert response.status_code == 302
    new = Contact.objects.for_tenant(tenant).exclude(pk=old.pk).get()
    assert (new.phone, new.email) == ("13800138000", "zw@qq.com")
