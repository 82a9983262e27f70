"""An audience holds conditions on the company's own fields ("徐汇校区, born 2015 or later"),
with the same boxes as the contact list's filters: shown in words on its page, kept up to date
by the refresh as values change, and never widened by a condition that can no longer apply."""

import pytest
from django.urls import reverse

from audiences.models import Audience, AudienceMember
from audiences.services import audience_recompute, audience_save
from crm import customfields as cf
from crm.merges import contact_merge
from crm.models import CustomField
from crm.services import ContactData, ServiceError, contact_update
from tests.factories import ContactFactory

Kind = CustomField.Kind


@pytest.fixture
def school(tenant, admin):
    make = cf.custom_field_create
    return {
        "birthday": make(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE),
        "campus": make(
            tenant=tenant, actor=admin, label="校区", kind=Kind.CHOICE, options=["徐汇", "浦东"]
        ),  # fmt: skip
    }


@pytest.fixture
def pupils(tenant, school):
    made = {
        "小明": {"xiao_qu": "徐汇", "sheng_ri": "2015-03-04"},
        "小红": {"xiao_qu": "徐汇", "sheng_ri": "2013-06-01"},
        "小刚": {"xiao_qu": "浦东", "sheng_ri": "2016-01-09"},
        "小丽": {},
    }
    return {name: ContactFactory(tenant=tenant, name=name, stage="mql", custom=custom)
            for name, custom in made.items()}  # fmt: skip


def members(audience) -> list[str]:
    rows = AudienceMember.objects.for_tenant(audience.tenant).filter(audience=audience)
    return sorted(rows.values_list("contact__name", flat=True))


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


CONDITIONS = {"cf_xiao_qu": "徐汇", "cf_sheng_ri__min": "2015-01-01"}


def test_a_marketer_defines_an_audience_by_campus_and_birthday_on_its_form(
    marketer_client, tenant, pupils, django_capture_on_commit_callbacks
):
    form = marketer_client.get(url("audience_create", tenant)).content.decode()
    assert 'id="audience-custom"' in form
    assert '<select id="id_cf_xiao_qu" name="cf_xiao_qu">' in form
    assert 'id="id_cf_sheng_ri__min" name="cf_sheng_ri__min" type="date"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(url("audience_create", tenant), {
            "name": "徐汇 2015 后", "gate": "at_or_past", "stages": ["subscriber"],
            "status": "active", **CONDITIONS, "cf_sheng_ri__max": "",
        })  # fmt: skip
    audience = Audience.objects.for_tenant(tenant).get()
    assert response.url == url("audience_detail", tenant, audience.pk)
    assert audience.custom == CONDITIONS
    assert members(audience) == ["小明"]
    page = marketer_client.get(response.url).content.decode()
    assert '<span class="chip custom-condition">校区 = 徐汇</span>' in page
    assert '<span class="chip custom-condition">生日 ≥ 2015-01-01</span>' in page
    # editing it shows the conditions in their boxes
    edit = marketer_client.get(url("audience_edit", tenant, audience.pk)).content.decode()
    assert '<option value="徐汇" selected>徐汇</option>' in edit
    assert 'name="cf_sheng_ri__min" type="date" value="2015-01-01"' in edit


def test_the_refresh_follows_values_changed_by_hand_or_by_a_merge(
    tenant, marketer, admin, pupils, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        audience = audience_save(
            tenant=tenant,
            actor=marketer,
            name="徐汇 2015 后",
            gate="at_or_past",
            stages=["subscriber"],
            custom=CONDITIONS,
        )
    assert members(audience) == ["小明"]
    # 小红's birthday corrected: she is in
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(
            contact=pupils["小红"],
            actor=admin,
            data=ContactData(name="小红", custom={"sheng_ri": "2015-02-02"}),
        )
    assert members(audience) == ["小明", "小红"]
    # 小丽, merged with a record that knows her campus and birthday, is in too
    other = ContactFactory(
        tenant=tenant, name="小丽(微信)", custom={"xiao_qu": "徐汇", "sheng_ri": "2016-05-05"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        contact_merge(survivor=pupils["小丽"], merged=other, actor=admin, take_from_merged=set())
    assert members(audience) == ["小丽", "小明", "小红"]


def test_a_condition_that_cannot_apply_is_refused_in_words(tenant, marketer, school):
    for custom, said in (
        ({"cf_xiao_qu": "虹口"}, "校区 = 虹口"),
        ({"cf_sheng_ri__min": "明天"}, "生日 ≥ 明天"),
        ({"cf_xiao_qu__min": "徐汇"}, "校区 ≥ 徐汇"),  # a choice has no range
        ({"cf_nope": "1"}, "nope = 1"),
    ):
        with pytest.raises(ServiceError) as refused:
            audience_save(tenant=tenant, actor=marketer, name="试试", gate="at_or_past",
                          stages=["subscriber"], custom=custom)  # fmt: skip
        assert refused.value.message == f"These conditions cannot apply: {said}."
    assert not Audience.objects.for_tenant(tenant).exists()


def test_the_form_says_why_and_keeps_what_was_typed(marketer_client, tenant, school):
    response = marketer_client.post(url("audience_create", tenant), {
        "name": "试试", "gate": "at_or_past", "stages": ["subscriber"], "status": "active",
        "cf_sheng_ri__min": "明天",
    })  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "These conditions cannot apply: 生日 ≥ 明天." in html
    assert 'name="cf_sheng_ri__min" type="text" value="明天"' in html
    assert not Audience.objects.for_tenant(tenant).exists()


def test_a_deleted_field_empties_the_audience_and_its_page_says_why(
    marketer_client, tenant, admin, marketer, school, pupils, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        audience = audience_save(tenant=tenant, actor=marketer, name="徐汇",
                                 gate="at_or_past", stages=["subscriber"],
                                 custom={"cf_xiao_qu": "徐汇"})  # fmt: skip
    assert members(audience) == ["小明", "小红"]
    with django_capture_on_commit_callbacks(execute=True):
        cf.custom_field_delete(field=school["campus"], actor=admin)
    # not everyone: a condition left out would send the campaign to the wrong people
    assert members(audience) == []
    page = marketer_client.get(url("audience_detail", tenant, audience.pk)).content.decode()
    assert 'id="audience-conditions-lost"' in page
    assert "These conditions can no longer apply" in page and "xiao_qu = 徐汇" in page
    # its form says saving drops that condition, and saving does
    url_edit = url("audience_edit", tenant, audience.pk)
    edit = marketer_client.get(url_edit).content.decode()
    assert (
        "These conditions can no longer apply and are dropped when you save: xiao_qu = 徐汇."
        in (edit)
    )
    marketer_client.post(url_edit, {"name": "徐汇", "gate": "at_or_past", "stages": ["subscriber"],
                                    "status": ""})  # fmt: skip
    audience.refresh_from_db()
    assert audience.custom == {}


def test_another_companys_fields_cannot_be_named(tenant, other_tenant, outsider, marketer):
    theirs = cf.custom_field_create(tenant=other_tenant, actor=outsider, label="会员卡",
                                    kind=Kind.TEXT)  # fmt: skip
    with pytest.raises(ServiceError):
        audience_save(tenant=tenant, actor=marketer, name="试试", gate="at_or_past",
                      stages=["subscriber"], custom={f"cf_{theirs.key}": "A1"})  # fmt: skip


def test_a_recompute_counts_by_the_conditions(tenant, marketer, pupils):
    audience = audience_save(tenant=tenant, actor=marketer, name="没填校区", gate="exact",
                             stages=["mql"], custom={"cf_xiao_qu__empty": "1"})  # fmt: skip
    audience_recompute(audience=audience)
    assert members(audience) == ["小丽"]
    audience.refresh_from_db()
    assert audience.size == 1
