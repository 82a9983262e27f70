"""Sales and marketing staff keep their company's contacts: find, add, correct, never duplicate."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from crm.models import Contact
from crm.normalize import normalize_phone
from crm.services import ContactData, DuplicateContactError, contact_create
from tagging.models import Tag, TagGroup
from tagging.services import contact_tag_add
from tests.factories import ContactFactory


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("(010) 6552-9988", "01065529988"),
    ],
)
def test_phone_numbers_are_stored_as_digits(raw, stored):
    assert normalize_phone(raw) == stored


def test_salesperson_creates_a_contact_with_normalised_channels(sales_client, tenant, sales):
    response = sales_client.post(
        url("contact_create", tenant),
        {
            "name": "  李  娜 ",
            "email": " LiNa@QQ.com ",
            "phone": "+86 139-1234-5678",
            "wechat_id": "LiNa_English",
            "owner": sales.pk,
            "source": "地推传单",
        },
    )
    contact = Contact.objects.for_tenant(tenant).get()
    assert response.status_code == 302
    assert response.url == url("contact_detail", tenant, contact.pk)
    assert (contact.name, contact.email, contact.phone, contact.wechat_id) == (
        "李 娜",
        "lina@qq.com",
        "13912345678",
        "lina_english",
    )
    assert contact.owner == sales
    page = sales_client.get(response.url).content.decode()
    assert "李 娜" in page and "lina@qq.com" in page and "地推传单" in page


def test_a_duplicate_is_refused_with_a_link_to_the_existing_contact(sales_client, tenant, contact):
    response = sales_client.post(
        url("contact_create", tenant), {"name": "张伟 (又一次)", "phone": "138 0013 8000"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Already used by" in html
    assert f'href="{url("contact_detail", tenant, contact.pk)}"' in html
    assert Contact.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize("field, value", [("email", "ZhangWei@QQ.com"), ("wechat_id", "ZW_wechat")])
def test_duplicates_are_found_on_email_and_wechat_whatever_the_case(tenant, contact, field, value):
    contact.wechat_id = "zw_wechat"
    contact.save()
    with pytest.raises(DuplicateContactError) as error:
        contact_create(tenant=tenant, actor=None, data=ContactData(name="x", **{field: value}))
    assert error.value.duplicates == {field: contact}


def test_the_same_phone_is_fine_in_another_company(tenant, other_tenant, contact):
    other = contact_create(
        tenant=other_tenant, actor=None, data=ContactData(name="张伟", phone=contact.phone)
    )
    assert other.tenant == other_tenant


def test_bad_input_gets_clear_messages_and_nothing_is_saved(sales_client, tenant):
    response = sales_client.post(
        url("contact_create", tenant),
        {"name": " ", "email": "not-an-email", "phone": "call me", "wechat_id": "有 空格"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html or "A contact needs a name." in html
    assert "Enter a valid email address." in html
    assert "A phone number has digits" in html
    assert "A WeChat ID has letters" in html
    assert Contact.objects.for_tenant(tenant).count() == 0


def test_the_owner_must_be_a_member_of_the_same_company(sales_client, tenant, outsider):
    response = sales_client.post(
        url("contact_create", tenant), {"name": "王芳", "owner": outsider.pk}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Contact.objects.for_tenant(tenant).exists()


def test_editing_keeps_what_was_saved_when_the_new_input_is_refused(
    marketer_client, tenant, contact
):
    other = ContactFactory(tenant=tenant, name="王芳", phone="13700000000")
    response = marketer_client.post(
        url("contact_edit", tenant, other.pk), {"name": "王芳芳", "phone": contact.phone}
    )
    assert response.status_code == 200
    other.refresh_from_db()
    assert (other.name, other.phone) == ("王芳", "13700000000")
    response = marketer_client.post(
        url("contact_edit", tenant, other.pk), {"name": "王芳芳", "phone": "137 0000 0001"}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.name, other.phone) == ("王芳芳", "13700000001")


def test_a_contact_keeps_its_own_channels_when_edited(sales_client, tenant, contact):
    response = sales_client.post(
        url("contact_edit", tenant, contact.pk),
        {"name": "张伟", "phone": contact.phone, "email": contact.email, "company": "腾飞科技"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.company == "腾飞科技"


def _names(response):
    return [c.name for c in response.context["page"].items]


def test_search_finds_by_name_email_phone_and_wechat(sales_client, tenant, contact):
    ContactFactory(tenant=tenant, name="李娜", phone="13911112222", wechat_id="lina88")
    ContactFactory(tenant=tenant, name="王芳", phone="13733334444", email="wangfang@163.com")
    list_url = url("contact_list", tenant)
    assert _names(sales_client.get(list_url, {"q": "张"})) == ["张伟"]
    assert _names(sales_client.get(list_url, {"q": "WangFang@"})) == ["王芳"]
    assert _names(sales_client.get(list_url, {"q": "139 1111"})) == ["李娜"]
    assert _names(sales_client.get(list_url, {"q": "+86 139 1111"})) == ["李娜"]
    assert _names(sales_client.get(list_url, {"q": "LINA8"})) == ["李娜"]
    assert _names(sales_client.get(list_url, {"q": "nobody"})) == []


def test_search_finds_a_customer_by_the_phones_last_digits(sales_client, tenant, contact):
    ContactFactory(tenant=tenant, name="林小雨", phone="13812349371")
    ContactFactory(tenant=tenant, name="周杰", phone="13893710000")  # 9371 in the middle only
    list_url = url("contact_list", tenant)
    for term in ("尾号9371", "尾号 9371", "9371", "９３７１", "手机尾号349371", "尾号371"):
        assert _names(sales_client.get(list_url, {"q": term})) == ["林小雨"], term
    assert _names(sales_client.get(list_url, {"q": "371"})) == []  # three digits alone: too few
    response = sales_client.get(list_url, {"q": "9371"}, HTTP_HX_REQUEST="true")
    assert "13812349371" in response.content.decode() or "林小雨" in response.content.decode()


def test_the_list_never_shows_another_companys_contacts(sales_client, tenant, foreign_contact):
    response = sales_client.get(url("contact_list", tenant), {"q": "别人"})
    assert _names(response) == []
    assert "别人的客户" not in response.content.decode()


def test_a_row_shows_link_stage_day_owner_and_tags_in_the_companys_time(
    sales_client, tenant, sales
):
    tenant.time_zone = "Asia/Shanghai"
    tenant.save()
    group = TagGroup.objects.create(tenant=tenant, key="intent", label="意向")
    hot, asked = (
        Tag.objects.create(tenant=tenant, group=group, key=key, label=label, label_key=label)
        for key, label in (("hot", "高"), ("ask", "询价"))
    )
    # 20:30 UTC on 1 March is already 2 March in Shanghai
    entered = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
    row_contact = ContactFactory(tenant=tenant, name="<i>周</i>", stage="sql", owner=sales,
                                 stage_entered_at=entered)  # fmt: skip
    for tag in (hot, asked):
        contact_tag_add(contact=row_contact, tag=tag, actor=sales)
    ContactFactory(tenant=tenant, name="无主", owner=None)
    html = sales_client.get(url("contact_list", tenant)).content.decode()
    start = html.index(f'name="ids" value="{row_contact.pk}"')
    row = html[start : html.index("</tr>", start)]
    detail = reverse("contact_detail", args=[tenant.slug, row_contact.pk])
    assert f'<a href="{detail}">&lt;i&gt;周&lt;/i&gt;</a>' in row
    assert 'aria-label="Select &lt;i&gt;周&lt;/i&gt;"' in row
    assert 'data-stage="sql"' in row and '<td class="date">2026-03-02</td>' in row
    assert '<span class="badge">询价</span> <span class="badge">高</span>' in row
    assert f"<td>{sales.display_name}</td>" in row
    start = html.index("无主")
    assert '<span class="muted">—</span>' in html[start : html.index("</tr>", start)]


def test_filter_by_owner(sales_client, tenant, sales, marketer):
    ContactFactory(tenant=tenant, name="甲", owner=sales)
    ContactFactory(tenant=tenant, name="乙", owner=marketer)
    ContactFactory(tenant=tenant, name="丙", owner=None)
    list_url = url("contact_list", tenant)
    assert _names(sales_client.get(list_url, {"owner": "me"})) == ["甲"]
    assert _names(sales_client.get(list_url, {"owner": "none"})) == ["丙"]
    assert _names(sales_client.get(list_url, {"owner": str(marketer.pk)})) == ["乙"]


def test_keyset_pages_walk_forward_and_back_without_gaps(sales_client, tenant, settings):
    settings.CONTACTS_PAGE_SIZE = 3
    for i in range(8):
        ContactFactory(tenant=tenant, name=f"客户{i:02d}")
    list_url = url("contact_list", tenant)
    seen = []
    response = sales_client.get(list_url, {"sort": "name"})
    pages = [_names(response)]
    while response.context["page"].has_next:
        response = sales_client.get(
            list_url, {"sort": "name", "after": response.context["page"].next_cursor}
        )
        pages.append(_names(response))
    for page in pages:
        seen.extend(page)
    assert seen == [f"客户{i:02d}" for i in range(8)]
    assert [len(p) for p in pages] == [3, 3, 2]
    back = sales_client.get(
        list_url, {"sort": "name", "before": response.context["page"].prev_cursor}
    )
    assert _names(back) == pages[1]
    assert back.context["page"].has_prev and back.context["page"].has_next


def test_sorting_newest_first_by_default_and_by_name(sales_client, tenant):
    ContactFactory(tenant=tenant, name="B")
    ContactFactory(tenant=tenant, name="A")
    list_url = url("contact_list", tenant)
    assert _names(sales_client.get(list_url)) == ["A", "B"]
    assert _names(sales_client.get(list_url, {"sort": "name"})) == ["A", "B"]
    assert _names(sales_client.get(list_url, {"sort": "-name"})) == ["B", "A"]
    assert _names(sales_client.get(list_url, {"sort": "created"})) == ["B", "A"]


def test_a_tampered_cursor_starts_from_the_first_page(sales_client, tenant, contact):
    response = sales_client.get(url("contact_list", tenant), {"after": "!!not-a-cursor"})
    assert response.status_code == 200
    assert _names(response) == ["张伟"]


def test_the_list_costs_the_same_queries_for_5_or_50_contacts(
    sales_client, tenant, sales, django_assert_num_queries
):
    ContactFactory.create_batch(5, tenant=tenant, owner=sales)
    list_url = url("contact_list", tenant)
    cache.clear()  # the stage labels are cached after the first page; count them each time
    # session, user, database scope (person, then company), the person's memberships (this
    # company's and the header's switcher), the page's contacts, their tags' labels, members
    # (the owner filter and the owners' names), the company's tags (filters and bulk bar), its
    # stage labels, the header's overdue tasks, its tiers (the tier filter), the member's saved
    # views (the side list, with their default), the company's custom fields (columns and
    # filters; cached like the stage labels)
    with django_assert_num_queries(14):
        sales_client.get(list_url)
    ContactFactory.create_batch(45, tenant=tenant, owner=sales)
    cache.clear()
    with django_assert_num_queries(14):
        response = sales_client.get(list_url)
    assert len(response.context["page"].items) == 50


def test_the_list_never_counts_the_whole_company(
    sales_client, tenant, contact, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        sales_client.get(url("contact_list", tenant))
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "crm_contact" in sql]


def test_htmx_search_returns_only_the_results_fragment(sales_client, tenant, contact):
    response = sales_client.get(url("contact_list", tenant), {"q": "张"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<table" in html and "张伟" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_filters_show_what_is_chosen_and_an_unknown_sort_shows_the_one_used(
    sales_client, tenant
):
    list_url = url("contact_list", tenant)
    html = sales_client.get(list_url, {"status": "lost", "sort": "name"}).content.decode()
    assert '<option value="lost" selected>' in html and '<option value="name" selected>' in html
    html = sales_client.get(list_url, {"sort": "shoe-size"}).content.decode()
    assert '<option value="-created" selected>' in html  # the default, which the list used


def test_every_value_a_row_shows_is_escaped(sales_client, tenant, sales):
    group = TagGroup.objects.create(tenant=tenant, key="x", label="组")
    bold = Tag.objects.create(tenant=tenant, group=group, key="b", label="<b>粗</b>",
                              label_key="<b>粗</b>")  # fmt: skip
    hostile = ContactFactory(tenant=tenant, name="甲", company='A&B "<u>"',
                             wechat_id="<img src=x>")  # fmt: skip
    contact_tag_add(contact=hostile, tag=bold, actor=sales)
    html = sales_client.get(url("contact_list", tenant)).content.decode()
    start = html.index(f'name="ids" value="{hostile.pk}"')
    row = html[start : html.index("</tr>", start)]
    assert "<td>A&amp;B &quot;&lt;u&gt;&quot;</td>" in row
    assert "<td>&lt;img src=x&gt;</td>" in row
    assert '<span class="badge">&lt;b&gt;粗&lt;/b&gt;</span>' in row
    assert "<u>" not in row and "<img" not in row and "<b>" not in row
