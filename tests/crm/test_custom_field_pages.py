"""The company's own fields on the pages: an admin adds 生日 and 校区 in Settings, renames one
(its key stays), orders them and deletes one after a page that says what goes with it; staff
fill them on the contact form, read them on the contact page, show them as list columns and
find contacts by them in the list's filters."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import customfields as cf
from crm.columns import columns_from_params, columns_param
from crm.models import AuditEntry, AuditKind, Contact, ContactCustomValue, CustomField
from tests.conftest import client_for
from tests.factories import ContactFactory

Kind = CustomField.Kind


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


@pytest.fixture
def fields(tenant, admin):
    def make(label, kind, **kwargs):
        return cf.custom_field_create(tenant=tenant, actor=admin, label=label, kind=kind, **kwargs)

    return {
        "birthday": make("生日", Kind.DATE),
        "campus": make("校区", Kind.CHOICE, options=["徐汇", "浦东", "静安"]),
        "grade": make("年级", Kind.NUMBER),
        "fee": make("学费", Kind.MONEY),
        "days": make("上课日", Kind.MULTI_CHOICE, options=["周六", "周日"]),
        "advisor": make("课程顾问", Kind.MEMBER),
        "site": make("主页", Kind.URL),
        "remark": make("家长备注", Kind.LONG_TEXT),
    }


def chinese(client, membership):
    membership.user.language = "zh-hans"
    membership.user.save(update_fields=["language"])
    return client


def with_values(tenant, name, **given):
    fields = cf.custom_fields_of(tenant=tenant)
    custom = cf.values_clean(tenant=tenant, fields=fields, given=given)
    return ContactFactory(tenant=tenant, name=name, custom=custom)


# --- Settings → Custom fields ----------------------------------------------------------------


def test_an_admin_adds_birthday_and_campus_and_a_rename_keeps_the_key(admin_client, tenant):
    response = admin_client.post(
        url("custom_field_list", tenant), {"label": "生日", "kind": "date"}
    )
    assert response.status_code == 302
    admin_client.post(
        url("custom_field_list", tenant),
        {"label": "校区", "kind": "choice", "options": "徐汇\n浦东\n\n静安\n", "required": "on",
         "help_text": "孩子上课的校区"},
    )  # fmt: skip
    birthday, campus = cf.custom_fields_of(tenant=tenant)
    assert (birthday.label, birthday.key, birthday.kind) == ("生日", "sheng_ri", Kind.DATE)
    assert (campus.key, campus.options, campus.required) == (
        "xiao_qu",
        ["徐汇", "浦东", "静安"],
        True,
    )
    page = admin_client.get(url("custom_field_list", tenant)).content.decode()
    assert "sheng_ri" in page and "徐汇、浦东、静安" in page and "孩子上课的校区" in page

    edit = admin_client.get(url("custom_field_edit", tenant, campus.pk)).content.decode()
    assert 'name="kind"' not in edit  # a field keeps its kind
    assert "xiao_qu" in edit and 'value="校区"' in edit
    response = admin_client.post(
        url("custom_field_edit", tenant, campus.pk),
        {"label": "上课校区", "options": "徐汇\n浦东\n静安\n闵行", "required": "on"},
    )
    assert response.status_code == 302
    campus.refresh_from_db()
    assert (campus.label, campus.key, campus.options[-1]) == ("上课校区", "xiao_qu", "闵行")

    entries = AuditEntry.objects.for_tenant(tenant).order_by("pk")
    kinds = [(e.kind, e.subject) for e in entries if e.kind.startswith("custom_field")]
    assert kinds == [
        (AuditKind.CUSTOM_FIELD_ADDED, "生日"),
        (AuditKind.CUSTOM_FIELD_ADDED, "校区"),
        (AuditKind.CUSTOM_FIELD_CHANGED, "上课校区"),
    ]
    assert entries.last().details == {"key": "xiao_qu", "from": "校区"}
    log = admin_client.get(url("audit_log", tenant)).content.decode()
    assert "Custom field added" in log and "Date; key sheng_ri" in log
    assert "key xiao_qu; renamed from “校区”" in log


def test_a_refused_field_says_why_in_chinese_and_keeps_what_was_typed(
    admin_client, admin, tenant, fields
):
    chinese(admin_client, admin)
    response = admin_client.post(
        url("custom_field_list", tenant),
        {"label": "课程", "kind": "multi_choice", "options": "\n \n", "help_text": "报名的课程"},
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "至少" in page and "选项" in page  # a choice needs at least one option
    assert 'value="课程"' in page and 'value="报名的课程"' in page
    response = admin_client.post(
        url("custom_field_list", tenant), {"label": "生日", "kind": "text"}
    )
    assert response.status_code == 422
    assert "已经有名为“生日”的字段" in response.content.decode()
    response = admin_client.post(url("custom_field_list", tenant), {"label": "备注2", "kind": ""})
    assert response.status_code == 422
    assert CustomField.objects.for_tenant(tenant).count() == len(fields)


def test_an_option_contacts_hold_stays_and_the_page_says_how_many(admin_client, tenant, fields):
    with_values(tenant, "王小明", xiao_qu="徐汇")
    with_values(tenant, "李小红", xiao_qu="徐汇")
    campus = fields["campus"]
    response = admin_client.post(
        url("custom_field_edit", tenant, campus.pk), {"label": "校区", "options": "浦东\n静安"}
    )
    assert response.status_code == 422
    assert "2 contacts hold “徐汇”" in response.content.decode()
    campus.refresh_from_db()
    assert campus.options == ["徐汇", "浦东", "静安"]


def test_fields_move_up_and_down_in_the_company_order(admin_client, tenant, fields):
    grade = fields["grade"]
    admin_client.post(url("custom_field_move", tenant, grade.pk), {"direction": "up"})
    order = [f.key for f in cf.custom_fields_of(tenant=tenant)]
    assert order[:3] == ["sheng_ri", "nian_ji", "xiao_qu"]
    first = fields["birthday"]
    admin_client.post(url("custom_field_move", tenant, first.pk), {"direction": "up"})
    assert [f.key for f in cf.custom_fields_of(tenant=tenant)] == order  # the top stays the top
    admin_client.post(url("custom_field_move", tenant, first.pk), {"direction": "down"})
    assert [f.key for f in cf.custom_fields_of(tenant=tenant)][:2] == ["nian_ji", "sheng_ri"]
    # the contact form follows the company's order
    form = admin_client.get(url("contact_create", tenant)).content.decode()
    assert form.index('name="cf_nian_ji"') < form.index('name="cf_sheng_ri"')


def test_deleting_asks_first_and_says_how_many_contacts_hold_a_value(admin_client, tenant, fields):
    with_values(tenant, "王小明", xiao_qu="徐汇", sheng_ri="2015-03-04")
    with_values(tenant, "李小红", xiao_qu="浦东")
    with_values(tenant, "张三")
    campus = fields["campus"]
    listing = admin_client.get(url("custom_field_list", tenant)).content.decode()
    assert re.search(r"cf_xiao_qu__empty=0[^>]*>2</a>", listing)  # who holds one, a click away

    asked = admin_client.get(url("custom_field_delete", tenant, campus.pk))
    assert "2 contacts hold a value of “校区”" in asked.content.decode()
    admin_client.post(url("custom_field_delete", tenant, campus.pk))  # no confirmation: nothing
    assert CustomField.objects.for_tenant(tenant).filter(pk=campus.pk).exists()

    response = admin_client.post(url("custom_field_delete", tenant, campus.pk), {"confirm": "yes"})
    assert response.status_code == 302
    assert not CustomField.objects.for_tenant(tenant).filter(pk=campus.pk).exists()
    assert {c.name: c.custom for c in Contact.objects.for_tenant(tenant)} == {
        "王小明": {"sheng_ri": "2015-03-04"},
        "李小红": {},
        "张三": {},
    }
    assert not ContactCustomValue.objects.for_tenant(tenant).filter(field_id=campus.pk).exists()
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.CUSTOM_FIELD_DELETED)
    assert (entry.subject, entry.count) == ("校区", 2)
    shown = admin_client.get(response.url).content.decode()
    assert "with the values 2 contacts held" in shown


def test_only_admins_reach_the_custom_fields(
    marketer_client, sales_client, admin_client, tenant, fields
):
    field = fields["campus"]
    tries = [
        ("custom_field_list", (), {"label": "x", "kind": "text"}),
        ("custom_field_edit", (field.pk,), {"label": "x"}),
        ("custom_field_move", (field.pk,), {"direction": "down"}),
        ("custom_field_delete", (field.pk,), {"confirm": "yes"}),
    ]
    for client in (marketer_client, sales_client):
        assert client.get(url("custom_field_list", tenant)).status_code == 403
        for name, args, data in tries:
            assert client.post(url(name, tenant, *args), data).status_code == 403, name
        settings_page = client.get(url("tag_settings", tenant)).content.decode()
        assert url("custom_field_list", tenant) not in settings_page
    assert CustomField.objects.for_tenant(tenant).filter(pk=field.pk, label="校区").exists()
    settings_page = admin_client.get(url("tag_settings", tenant)).content.decode()
    assert url("custom_field_list", tenant) in settings_page


def test_another_companys_field_is_not_found(outsider_client, tenant, fields):
    field = fields["campus"]
    other = outsider_client.get(url("custom_field_list", tenant))
    assert other.status_code == 404
    outsider_client.post(url("custom_field_delete", tenant, field.pk), {"confirm": "yes"})
    assert CustomField.objects.for_tenant(tenant).filter(pk=field.pk).exists()


# --- the contact form and page -----------------------------------------------------------------


def test_the_contact_form_asks_each_field_with_its_own_box(
    sales_client, tenant, fields, sales, admin, outsider
):
    page = sales_client.get(url("contact_create", tenant)).content.decode()
    assert re.search(r'<input type="date" name="cf_sheng_ri"', page)
    assert re.search(r'<input type="url" name="cf_zhu_ye"[^>]*inputmode="url"', page)
    grade = re.search(r'<input[^>]*name="cf_nian_ji"[^>]*>', page)[0]
    assert 'inputmode="decimal"' in grade
    assert re.search(r'<select name="cf_xiao_qu"', page) and '<option value="浦东">' in page
    assert re.search(r'<select name="cf_shang_ke_ri"[^>]*multiple', page)
    assert re.search(r'<textarea name="cf_jia_zhang_bei_zhu"', page)
    advisor = re.search(r'<select name="cf_ke_cheng_gu_wen".*?</select>', page, re.S)[0]
    assert f'value="{sales.pk}"' in advisor and f'value="{admin.pk}"' in advisor
    assert f'value="{outsider.pk}"' not in advisor  # members of this company only
    assert '<label for="id_cf_sheng_ri">生日</label>' in page


def test_a_contact_keeps_its_values_and_its_page_shows_them(sales_client, tenant, fields, sales):
    response = sales_client.post(
        url("contact_create", tenant),
        {"name": "王小明", "phone": "13800138000", "cf_sheng_ri": "2015/3/4", "cf_xiao_qu": "徐汇",
         "cf_nian_ji": "3", "cf_xue_fei": "12800", "cf_shang_ke_ri": ["周日", "周六"],
         "cf_ke_cheng_gu_wen": str(sales.pk), "cf_zhu_ye": "example.com/wang",
         "cf_jia_zhang_bei_zhu": "妈妈接送\n周末有空"},
    )  # fmt: skip
    assert response.status_code == 302
    contact = Contact.objects.for_tenant(tenant).get()
    assert contact.custom == {
        "sheng_ri": "2015-03-04", "xiao_qu": "徐汇", "nian_ji": 3, "xue_fei": "12800.00",
        "shang_ke_ri": ["周六", "周日"], "ke_cheng_gu_wen": sales.pk,
        "zhu_ye": "https://example.com/wang", "jia_zhang_bei_zhu": "妈妈接送\n周末有空",
    }  # fmt: skip
    page = sales_client.get(response.url).content.decode()
    for shown in ("<dt>生日</dt>", "2015-03-04", "¥12,800.00", "周六、周日", sales.display_name,
                  'href="https://example.com/wang"', "妈妈接送<br>周末有空"):  # fmt: skip
        assert shown in page, shown

    # the edit form shows the values back; a value cleared goes, the others stay
    edit = sales_client.get(url("contact_edit", tenant, contact.pk)).content.decode()
    assert 'value="2015-03-04"' in edit and '<option value="徐汇" selected>' in edit
    sales_client.post(
        url("contact_edit", tenant, contact.pk),
        {"name": "王小明", "phone": "13800138000", "cf_sheng_ri": "2015-03-04", "cf_xiao_qu": "",
         "cf_nian_ji": "4", "cf_xue_fei": "12800.00", "cf_shang_ke_ri": ["周六"],
         "cf_ke_cheng_gu_wen": str(sales.pk)},
    )  # fmt: skip
    contact.refresh_from_db()
    assert "xiao_qu" not in contact.custom and "zhu_ye" not in contact.custom
    assert (contact.custom["nian_ji"], contact.custom["shang_ke_ri"]) == (4, ["周六"])


def test_required_and_wrong_values_are_refused_under_their_box_in_chinese(
    sales_client, sales, tenant, fields, admin, outsider
):
    cf.custom_field_update(field=fields["campus"], actor=admin, label="校区", required=True,
                           options=fields["campus"].options)  # fmt: skip
    chinese(sales_client, sales)
    response = sales_client.post(
        url("contact_create", tenant),
        {"name": "李小红", "cf_sheng_ri": "2015-13-45", "cf_nian_ji": "三年级",
         "cf_ke_cheng_gu_wen": str(outsider.pk), "cf_zhu_ye": "not a site"},
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert not Contact.objects.for_tenant(tenant).exists()
    form = response.context["form"]
    errors = {
        name.removeprefix("cf_"): " ".join(messages) for name, messages in form.errors.items()
    }
    assert set(errors) == {"xiao_qu", "sheng_ri", "nian_ji", "ke_cheng_gu_wen", "zhu_ye"}
    for message in errors.values():  # each under its own box
        assert f'<p class="error">{message}</p>' in page
    assert "校区" in errors["xiao_qu"] and "必填" in errors["xiao_qu"]
    assert "2015-13-45" in errors["sheng_ri"] and "日期" in errors["sheng_ri"]
    assert "三年级" in errors["nian_ji"] and "数字" in errors["nian_ji"]
    # what was typed stays in its box (a date that is none yet, as text)
    assert re.search(r'type="text" name="cf_sheng_ri" value="2015-13-45"', page)
    assert 'value="李小红"' in page and 'value="三年级"' in page


# --- the contact list ---------------------------------------------------------------------------


@pytest.fixture
def school(tenant, fields, sales):
    with_values(tenant, "王小明", sheng_ri="2015-03-04", xiao_qu="徐汇", nian_ji=3,
                shang_ke_ri=["周六"], ke_cheng_gu_wen=sales.pk)  # fmt: skip
    with_values(tenant, "李小红", sheng_ri="2016-07-01", xiao_qu="浦东", nian_ji=2,
                shang_ke_ri=["周六", "周日"])  # fmt: skip
    with_values(tenant, "张小军", xiao_qu="徐汇", xue_fei="9800")
    with_values(tenant, "赵小花")


def names_listed(client, tenant, query: str) -> list[str]:
    response = client.get(f"{url('contact_list', tenant)}?{query}")
    assert response.status_code == 200
    return sorted(row.name for row in response.context["page"].items)


@pytest.mark.parametrize("rare", [cf.RARE, 1], ids=["sought by ids", "walked in order"])
def test_the_list_finds_contacts_by_equals_range_and_empty(
    admin_client, tenant, school, rare, monkeypatch
):
    # a value few contacts hold is read first as ids; one many hold is matched row by row
    monkeypatch.setattr(cf, "RARE", rare)
    assert names_listed(admin_client, tenant, "cf_xiao_qu=徐汇") == ["张小军", "王小明"]
    assert names_listed(admin_client, tenant, "cf_shang_ke_ri=周日") == ["李小红"]
    assert names_listed(admin_client, tenant, "cf_sheng_ri__min=2016-01-01") == ["李小红"]
    assert names_listed(
        admin_client, tenant, "cf_sheng_ri__min=2015-01-01&cf_sheng_ri__max=2015-12-31"
    ) == ["王小明"]
    assert names_listed(admin_client, tenant, "cf_nian_ji__max=2") == ["李小红"]
    assert names_listed(admin_client, tenant, "cf_sheng_ri__empty=1") == ["张小军", "赵小花"]
    assert names_listed(admin_client, tenant, "cf_xiao_qu=徐汇&cf_sheng_ri__empty=0") == ["王小明"]


def test_the_filter_panel_shows_what_the_list_was_asked(admin_client, tenant, school):
    query = "cf_xiao_qu=浦东&cf_sheng_ri__min=2016-01-01"
    html = admin_client.get(f"{url('contact_list', tenant)}?{query}").content.decode()
    assert '<details class="custom-filters" open>' in html
    assert '<option value="浦东" selected>' in html
    low = re.search(r'<input id="id_cf_sheng_ri__min"[^>]*>', html)[0]
    assert 'type="date"' in low and 'value="2016-01-01"' in low
    assert 'for="id_cf_xiao_qu__empty"' in html  # each box labelled
    # a long text is found by the search box: no "equals" box of its own
    assert (
        'name="cf_jia_zhang_bei_zhu"' not in html and 'name="cf_jia_zhang_bei_zhu__empty"' in html
    )
    assert 'name="cf_nian_ji__max"' in html and 'name="cf_xiao_qu__min"' not in html


def test_a_condition_that_cannot_apply_is_said_not_guessed(admin_client, admin, tenant, school):
    chinese(admin_client, admin)
    response = admin_client.get(f"{url('contact_list', tenant)}?cf_sheng_ri=明天&cf_nian_ji=2")
    assert sorted(r.name for r in response.context["page"].items) == ["李小红"]
    html = response.content.decode()
    note = re.search(r'<div class="custom-note".*?</div>', html, re.S)[0]
    assert "生日 = 明天" in note and "年级" not in note
    assert re.search(
        r'<input id="id_cf_sheng_ri" name="cf_sheng_ri" type="text" value="明天"', html
    )


def test_chosen_columns_show_custom_values_and_leave_the_others_out(
    admin_client, tenant, school, sales
):
    query = "cols=phone&cols=cf:xiao_qu&cols=cf:ke_cheng_gu_wen&cols=cf:xue_fei&sort=name"
    response = admin_client.get(f"{url('contact_list', tenant)}?{query}")
    html = response.content.decode()
    header = re.search(r"<thead>.*?</thead>", html, re.S)[0]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", header)
    assert headers == ["Name", "Stage", "Phone", "校区", "学费", "课程顾问"]  # the company's order
    rows = {row.name: row.tail for row in response.context["page"].items}
    assert "<td>徐汇</td>" in rows["王小明"] and sales.display_name in rows["王小明"]
    assert '<td class="num">¥9,800.00</td>' in rows["张小军"]
    assert "Company" not in header and "Tags" not in header
    # the pager and the "Columns" menu carry the choice
    assert response.context["filter_query"].count("cols=") == 1
    carried = "cols=phone%2Ccf%3Axiao_qu%2Ccf%3Ake_cheng_gu_wen%2Ccf%3Axue_fei"
    assert carried in response.context["filter_query"]
    chosen = {c.key for c, shown in response.context["column_choices"] if shown}
    assert chosen == {"phone", "cf:xiao_qu", "cf:ke_cheng_gu_wen", "cf:xue_fei"}
    # nothing chosen: only the name and the stage; the usual columns without `cols`
    bare = admin_client.get(f"{url('contact_list', tenant)}?cols=none")
    assert [c.key for c in bare.context["columns"]] == []
    usual = admin_client.get(url("contact_list", tenant))
    assert [c.key for c in usual.context["columns"]][:3] == ["since", "company", "phone"]


def test_a_deleted_fields_column_and_filter_are_simply_gone(admin_client, admin, tenant, school):
    cf.custom_field_delete(field=CustomField.objects.for_tenant(tenant).get(key="xiao_qu"),
                           actor=admin)  # fmt: skip
    response = admin_client.get(f"{url('contact_list', tenant)}?cols=cf:xiao_qu,phone")
    assert [c.key for c in response.context["columns"]] == ["phone"]


def test_the_address_names_columns_once_in_the_lists_order():
    assert columns_from_params({"cols": "cf:xiao_qu,phone,company"}) == (
        "company", "phone", "cf:xiao_qu",
    )  # fmt: skip
    assert columns_from_params({"cols": ["none", "tags"]}) == ("tags",)
    assert columns_from_params({"cols": "none"}) == ()
    assert columns_from_params({}) is None
    assert columns_from_params({"cols": "since,company,phone,tags,email,wechat_id,owner"}) is None
    assert columns_from_params({"cols": "<script>,cf:Bad-Key,cf:ok"}) == ("cf:ok",)
    assert columns_param(()) == "none" and columns_param(None) == ""


def test_custom_columns_cost_the_same_queries_for_5_or_50_contacts(tenant, fields, sales):
    client = client_for(sales)
    for n in range(5):
        with_values(tenant, f"学员{n}", xiao_qu="徐汇", ke_cheng_gu_wen=sales.pk)
    list_url = f"{url('contact_list', tenant)}?cols=cf:xiao_qu,cf:ke_cheng_gu_wen,owner"
    client.get(list_url)
    cache.clear()
    with CaptureQueriesContext(connection) as five:
        client.get(list_url)
    for n in range(45):
        with_values(tenant, f"新学员{n}", xiao_qu="浦东", ke_cheng_gu_wen=sales.pk)
    cache.clear()
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(list_url)
    assert len(response.context["page"].items) == 50
    assert len(fifty.captured_queries) == len(five.captured_queries)
