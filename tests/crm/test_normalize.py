"""One normalisation for phones, emails and WeChat IDs: full width is the same as ASCII, mainland
numbers are stored as digits, foreign ones with their country code, impossible ones refused."""

import pytest
from django.urls import reverse
from django.utils import translation

from crm.forms import ContactForm
from crm.models import Contact
from crm.normalize import (
    PhoneError,
    normalize_email,
    normalize_phone,
    normalize_wechat_id,
    phone_refusal,
    phone_search_prefix,
)
from crm.services import ContactData, InvalidPhone, contact_create, contact_fill
from tests.factories import ContactFactory

MOBILE = "13800138000"
BEIJING = "01088886666"


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("13800138000", MOBILE),
        ("+86 138 0013 8000", MOBILE),
        ("(0086)13800138000", MOBILE),
        ("0086 138 0013 8000", MOBILE),
        ("138-0013-8000", MOBILE),
        ("86-138-0013-8000", MOBILE),
        ("0 138 0013 8000", MOBILE),
        ("１３８００１３８０００", MOBILE),
        ("＋８６　１３８－００１３－８０００", MOBILE),
        (" 138.0013.8000 ", MOBILE),
        ("+86-10-8888-6666", BEIJING),
        ("+86 (0)10 8888 6666", BEIJING),
        ("010-8888-6666", BEIJING),
        ("(010) 8888 6666", BEIJING),
        ("861088886666", BEIJING),
        ("０１０－８８８８－６６６６", BEIJING),
        ("0755-1234-5678", "075512345678"),
        ("+86 755 1234 5678", "075512345678"),
        ("400-812-3123", "4008123123"),
        ("+1 415 555 2671", "+14155552671"),
        ("001 415 555 2671", "+14155552671"),
        ("＋１ ４１５ ５５５ ２６７１", "+14155552671"),
        ("+852 2123 4567", "+85221234567"),
        ("+44 20 7946 0958", "+442079460958"),
        # a mobile range the library may not know yet is taken, as before, with or without +86
        ("14012345678", "14012345678"),
        ("+86 140 1234 5678", "14012345678"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_phones_are_stored_in_one_form(raw, stored):
    assert normalize_phone(raw) == stored
    assert normalize_phone(stored) == stored  # a stored form stays as it is


def test_a_us_number_is_never_taken_for_a_chinese_one():
    # +1 380… has the digits of a mainland mobile once the + is gone
    assert phone_refusal("+1 380 013 8000") == "invalid"
    assert normalize_phone("+1 415 555 2671") != "14155552671"


@pytest.mark.parametrize(
    "raw, code",
    [
        ("12345", "too_short"),
        ("１２３４５", "too_short"),
        ("+86 2", "too_short"),
        ("1380013800", "invalid"),
        ("138001380001", "invalid"),
        ("+1 000 000 0000", "invalid"),
        ("+999 1234567", "invalid"),
        ("0000000", "invalid"),
        ("123456789012345678", "too_long"),
        ("1-800-FLOWERS", "characters"),
        ("call me", "characters"),
        ("010 8888 6666 ext 12", "characters"),
        ("13800138000转123", "characters"),
        ("010-8888-6666#12", "characters"),
    ],
)
def test_impossible_numbers_are_refused_with_a_reason(raw, code):
    with pytest.raises(PhoneError) as refused:
        normalize_phone(raw)
    assert refused.value.code == code
    assert phone_refusal(raw) == code


def test_the_refusal_is_worded_in_the_readers_language():
    with pytest.raises(PhoneError) as refused:
        normalize_phone("12345")
    assert refused.value.message == (
        "“12345” is too short for a phone number: a mobile has 11 digits, a landline needs its "
        "area code."
    )
    with translation.override("zh-hans"):
        assert (
            refused.value.message == "“12345”太短，不是电话号码：手机号为 11 位，座机号须带区号。"
        )
        assert PhoneError("invalid", "+1 000").message == (
            "“+1 000”不是在用的电话号码。中国大陆以外的号码请以 + 和国家或地区代码开头。"
        )
        assert PhoneError("too_long", "1" * 18).message == f"“{'1' * 18}”太长，不是电话号码。"


def test_emails_and_wechat_ids_are_nfkc_stripped_and_lower_case():
    assert normalize_email(" ＡＢＣ@ＱＱ.ＣＯＭ\u3000") == "abc@qq.com"
    assert normalize_email(" LiNa@QQ.com ") == "lina@qq.com"
    assert normalize_wechat_id("ＷＸ＿Ｌｉｎａ８８") == "wx_lina88"
    assert normalize_wechat_id(" LiNa_English ") == "lina_english"


@pytest.mark.parametrize(
    "typed, prefix",
    [
        ("139 1111", "1391111"),
        ("+86 139 1111", "1391111"),
        ("１３９ １１１１", "1391111"),
        ("0086 139", "139"),
        ("+86 10 8888", "0108888"),
        ("010 8888", "0108888"),
        ("+86 755", "0755"),
        ("+1 415", "+1415"),
        ("００１ ４１５", "+1415"),
        ("138 0013 8000", MOBILE),
        ("+86 10 8888 6666", BEIJING),
        ("张伟", ""),
        ("wx_", ""),
    ],
)
def test_search_looks_for_the_start_of_the_stored_form(typed, prefix):
    assert phone_search_prefix(typed) == prefix


# --- through the contact form ------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("１３８　００１３　８０００", MOBILE),
        ("+86-10-8888-6666", BEIJING),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_the_contact_form_stores_full_width_and_foreign_phones(sales_client, tenant, typed, stored):
    response = sales_client.post(url("contact_create", tenant), {"name": "李娜", "phone": typed})
    assert response.status_code == 302
    assert Contact.objects.for_tenant(tenant).get().phone == stored


def test_the_contact_form_takes_a_full_width_email_and_wechat_id(sales_client, tenant):
    response = sales_client.post(
        url("contact_create", tenant),
        {"name": "李娜", "email": "ＬｉＮａ@ＱＱ.ｃｏｍ", "wechat_id": "ＬｉＮａ＿８８"},
    )
    assert response.status_code == 302
    contact = Contact.objects.for_tenant(tenant).get()
    assert (contact.email, contact.wechat_id) == ("lina@qq.com", "lina_88")


def test_a_full_width_phone_finds_the_contact_who_has_it(sales_client, tenant, contact):
    response = sales_client.post(
        url("contact_create", tenant), {"name": "张伟 (又一次)", "phone": "１３８００１３８０００"}
    )
    assert response.status_code == 200
    assert "Already used by" in response.content.decode()
    assert Contact.objects.for_tenant(tenant).count() == 1


def test_an_impossible_phone_is_a_field_error_and_nothing_is_saved(sales_client, tenant):
    response = sales_client.post(url("contact_create", tenant), {"name": "李娜", "phone": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "“12345” is too short for a phone number: a mobile has 11 digits, a landline needs its "
        "area code."
    ]
    assert not Contact.objects.for_tenant(tenant).exists()


def test_the_form_refuses_in_chinese_for_a_chinese_reader(sales, sales_client, tenant):
    sales.user.language = "zh-hans"
    sales.user.save()
    response = sales_client.post(url("contact_create", tenant), {"name": "李娜", "phone": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "“12345”太短，不是电话号码：手机号为 11 位，座机号须带区号。"
    ]
    assert not Contact.objects.for_tenant(tenant).exists()


def test_the_form_alone_cleans_the_phone(tenant):
    form = ContactForm({"name": "x", "phone": "＋１ ４１５ ５５５ ２６７１"}, tenant=tenant)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+14155552671"


# --- services and search -------------------------------------------------------------------


def test_the_service_refuses_an_impossible_phone_in_its_own_words(tenant):
    with pytest.raises(InvalidPhone) as refused:
        contact_create(tenant=tenant, actor=None, data=ContactData(name="x", phone="12345"))
    assert refused.value.code == "too_short"
    assert refused.value.message.startswith("“12345” is too short")
    assert not Contact.objects.for_tenant(tenant).exists()


def test_a_stored_phone_the_rules_refuse_blocks_no_other_change(tenant):
    # as the data migration may leave one (it could not be read, or it was a duplicate)
    old = ContactFactory(tenant=tenant, name="老客户", phone="12345")
    contact_fill(contact=old, actor=None, values={"email": "old@qq.com"})
    old.refresh_from_db()
    assert (old.phone, old.email) == ("12345", "old@qq.com")
    with pytest.raises(InvalidPhone):
        contact_fill(contact=old, actor=None, values={"phone": "54321"})
    old.refresh_from_db()
    assert old.phone == "12345"


def _names(response):
    return [c.name for c in response.context["page"].items]


def test_search_with_full_width_digits_finds_the_contact(sales_client, tenant, contact):
    ContactFactory(tenant=tenant, name="李娜", phone="13911112222", email="lina@qq.com")
    ContactFactory(tenant=tenant, name="Ada", phone="+14155552671")
    ContactFactory(tenant=tenant, name="北京办", phone=BEIJING)
    list_url = url("contact_list", tenant)
    assert _names(sales_client.get(list_url, {"q": "１３９ １１１１"})) == ["李娜"]
    assert _names(sales_client.get(list_url, {"q": "＋８６ １３９１"})) == ["李娜"]
    assert _names(sales_client.get(list_url, {"q": "ＬＩＮＡ@"})) == ["李娜"]
    assert _names(sales_client.get(list_url, {"q": "+1 415"})) == ["Ada"]
    assert _names(sales_client.get(list_url, {"q": "+86 10 8888"})) == ["北京办"]
    assert _names(sales_client.get(list_url, {"q": "１３８"})) == ["张伟"]
