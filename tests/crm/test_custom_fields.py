"""A training school adds its own fields (生日, 校区, 年级, 学费, 上课日…) and finds contacts by
them: the values' rules per kind, the filters, and what renaming or deleting a field does."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from crm import customfields as cf
from crm.customfields import CustomCondition, CustomFieldError
from crm.models import Contact, ContactCustomValue, CustomField
from crm.selectors import ContactFilters, contacts_matching
from tests.factories import ContactFactory

Kind = CustomField.Kind


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
        "school": make("就读学校", Kind.TEXT),
    }


def with_values(tenant, fields, name, **given):
    custom = cf.values_clean(tenant=tenant, fields=fields.values(), given=given)
    return ContactFactory(tenant=tenant, name=name, custom=custom)


def matching(tenant, *conditions) -> set[str]:
    filters = ContactFilters(custom=tuple(CustomCondition(*c) for c in conditions))
    return set(contacts_matching(tenant=tenant, filters=filters, viewer=None).values_list(
        "name", flat=True))  # fmt: skip


def test_keys_come_from_the_first_label_and_renaming_keeps_them(tenant, admin, fields):
    assert fields["birthday"].key == "sheng_ri"
    assert fields["campus"].key == "xiao_qu"
    again = cf.custom_field_create(tenant=tenant, actor=admin, label="Shengri", kind=Kind.TEXT)
    assert again.key == "shengri"
    cf.custom_field_update(field=fields["birthday"], actor=admin, label="出生日期", required=False)
    fields["birthday"].refresh_from_db()
    assert (fields["birthday"].label, fields["birthday"].key) == ("出生日期", "sheng_ri")


@pytest.mark.parametrize(
    "written",
    ["2015-03-04", "2015/3/4", "2015.3.4", "2015年3月4日", "20150304", "2015-03-04 00:00:00",
     "２０１５／３／４", "２０１５年３月４日",
     42067, "42067", dt.date(2015, 3, 4), dt.datetime(2015, 3, 4, 8, 30, tzinfo=dt.UTC)],
)  # fmt: skip
def test_a_birthday_reads_the_ways_chinese_excel_writes_dates(fields, written):
    assert cf.value_clean(fields["birthday"], written) == "2015-03-04"


def test_each_kind_keeps_one_form_and_refuses_what_it_is_not(tenant, fields, admin):
    assert cf.value_clean(fields["fee"], "¥1,200") == "1200.00"
    assert cf.value_clean(fields["fee"], "￥１，２００") == "1200.00"
    assert cf.value_clean(fields["grade"], "３") == 3
    assert cf.value_clean(fields["grade"], "3") == 3
    assert cf.value_clean(fields["grade"], 2.5) == 2.5
    assert cf.value_clean(fields["campus"], " 浦东 ") == "浦东"
    assert cf.value_clean(fields["days"], "周日、周六") == ["周六", "周日"]
    assert cf.value_clean(fields["site"], "example.com/kid") == "https://example.com/kid"
    assert cf.value_clean(fields["advisor"], str(admin.pk), members=[admin.pk]) == admin.pk
    for field, bad in [("birthday", "明天"), ("birthday", "2015-02-30"), ("grade", "三"),
                       ("fee", "12.345"), ("campus", "闵行"), ("site", "not a site"),
                       ("advisor", "99999")]:  # fmt: skip
        with pytest.raises(ValidationError):
            cf.value_clean(fields[field], bad, members=[admin.pk])


def test_a_required_field_refuses_to_be_left_empty_and_unknown_keys_are_named(tenant, admin):
    required = cf.custom_field_create(
        tenant=tenant, actor=admin, label="校区", kind=Kind.TEXT, required=True
    )
    with pytest.raises(ValidationError) as refused:
        cf.values_clean(tenant=tenant, fields=[required], given={"nope": "x"})
    assert set(refused.value.message_dict) == {"nope", required.key}
    kept = cf.values_clean(
        tenant=tenant, fields=[required], given={}, current={required.key: "徐汇"}
    )
    assert kept == {required.key: "徐汇"}


def test_filters_find_contacts_by_equals_range_and_empty(tenant, fields, admin):
    f = {key: field.key for key, field in fields.items()}
    xiaoming = {f["birthday"]: "2015-03-04", f["campus"]: "徐汇", f["fee"]: "1200",
                f["days"]: ["周六"]}  # fmt: skip
    xiaohong = {f["birthday"]: "2016-07-01", f["campus"]: "浦东", f["fee"]: "800.50",
                f["days"]: ["周六", "周日"]}  # fmt: skip
    with_values(tenant, fields, "小明", **xiaoming)
    with_values(tenant, fields, "小红", **xiaohong)
    with_values(tenant, fields, "小刚", **{f["grade"]: 3})

    assert matching(tenant, (f["campus"], "eq", "徐汇")) == {"小明"}
    assert matching(tenant, (f["days"], "eq", "周日")) == {"小红"}
    assert matching(tenant, (f["birthday"], "min", "2016-01-01")) == {"小红"}
    assert matching(tenant, (f["birthday"], "max", "2015年12月31日")) == {"小明"}
    assert matching(tenant, (f["fee"], "min", "800"), (f["fee"], "max", "1000")) == {"小红"}
    assert matching(tenant, (f["birthday"], "empty", "1")) == {"小刚"}
    assert matching(tenant, (f["birthday"], "empty", "0")) == {"小明", "小红"}


def test_a_condition_that_cannot_apply_is_reported_not_guessed(tenant, fields):
    conditions = [
        CustomCondition("xiao_qu", "min", "3"),
        CustomCondition("sheng_ri", "eq", "明天"),
        CustomCondition("gone", "eq", "x"),
        CustomCondition("xiao_qu", "eq", "浦东"),
    ]
    _q, ignored = cf.conditions_q(tenant=tenant, conditions=conditions, fields=fields.values())
    assert ignored == conditions[:3]


def test_the_filter_table_follows_every_change_of_a_contacts_values(tenant, fields):
    key = fields["campus"].key
    kid = with_values(tenant, fields, "小明", **{key: "徐汇"})
    Contact.objects.for_tenant(tenant).filter(pk=kid.pk).update(custom={key: "静安"})
    assert matching(tenant, (key, "eq", "静安")) == {"小明"}
    assert matching(tenant, (key, "eq", "徐汇")) == set()
    kid.delete()
    assert not ContactCustomValue.objects.for_tenant(tenant).exists()


def test_another_companys_values_never_match(tenant, other_tenant, fields, outsider):
    theirs = cf.custom_field_create(
        tenant=other_tenant, actor=outsider, label="校区", kind=Kind.CHOICE, options=["徐汇"]
    )
    assert theirs.key == fields["campus"].key
    ContactFactory(tenant=other_tenant, name="别人的", custom={theirs.key: "徐汇"})
    assert matching(tenant, (theirs.key, "eq", "徐汇")) == set()
    assert matching(other_tenant, (theirs.key, "eq", "徐汇")) == {"别人的"}


def test_deleting_a_field_says_how_many_held_it_and_takes_only_its_values(tenant, fields, admin):
    campus, grade = fields["campus"], fields["grade"]
    with_values(tenant, fields, "小明", **{campus.key: "徐汇", grade.key: 3})
    with_values(tenant, fields, "小红", **{campus.key: "浦东"})
    assert cf.custom_field_usage(field=campus) == 2
    assert cf.custom_field_delete(field=campus, actor=admin) == 2
    customs = dict(Contact.objects.for_tenant(tenant).values_list("name", "custom"))
    assert customs == {"小明": {grade.key: 3}, "小红": {}}
    assert matching(tenant, (grade.key, "eq", "3")) == {"小明"}


def test_an_option_contacts_hold_cannot_be_removed(tenant, fields, admin):
    campus = fields["campus"]
    with_values(tenant, fields, "小明", **{campus.key: "徐汇"})
    with pytest.raises(CustomFieldError, match="1"):
        cf.custom_field_update(field=campus, actor=admin, label="校区", required=False,
                               options=["浦东", "静安"])  # fmt: skip
    cf.custom_field_update(field=campus, actor=admin, label="校区", required=False,
                           options=["徐汇", "浦东"])  # fmt: skip
    campus.refresh_from_db()
    assert campus.options == ["徐汇", "浦东"]


def test_only_admins_change_the_fields(tenant, marketer, sales, fields):
    for member in (marketer, sales):
        with pytest.raises(CustomFieldError):
            cf.custom_field_create(tenant=tenant, actor=member, label="x", kind=Kind.TEXT)
        with pytest.raises(CustomFieldError):
            cf.custom_field_delete(field=fields["campus"], actor=member)
    assert CustomField.objects.for_tenant(tenant).count() == len(fields)


def test_names_are_unique_in_a_company_whatever_the_case(tenant, admin):
    cf.custom_field_create(tenant=tenant, actor=admin, label="Campus", kind=Kind.TEXT)
    with pytest.raises(CustomFieldError):
        cf.custom_field_create(tenant=tenant, actor=admin, label="campus ", kind=Kind.TEXT)
