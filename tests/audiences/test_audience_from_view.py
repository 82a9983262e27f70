"""An audience can start from a saved view: "本周试听未到访", saved on the contact list, becomes
the audience the coupon goes to; what an audience cannot hold is named, never dropped."""

import pytest
from django.urls import reverse

from audiences.models import Audience, AudienceMember
from audiences.services import audience_initial_from_view, audience_recompute
from crm.customfields import custom_field_create
from crm.models import SavedView
from grading.models import Tier
from tagging.services import contact_tag_add, tag_delete
from tests.conftest import client_for
from tests.factories import ContactFactory, MembershipFactory

THIS_WEEK = "本周试听未到访"


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


@pytest.fixture
def trial(tenant, make_tag):
    booked, visited = make_tag("试听", "已约试听"), make_tag("试听", "已到访")
    came = ContactFactory(tenant=tenant, name="来了的", stage="mql")
    missed = ContactFactory(tenant=tenant, name="没来的", stage="mql")
    ContactFactory(tenant=tenant, name="没约的", stage="mql")
    later = ContactFactory(tenant=tenant, name="约了但已是 SQL", stage="sql")
    for contact in (came, missed, later):
        contact_tag_add(contact=contact, tag=booked, actor=None)
    contact_tag_add(contact=came, tag=visited, actor=None)
    return booked, visited


def view_of(tenant, owner, params, *, shared=True, name=THIS_WEEK):
    return SavedView.objects.create(
        tenant=tenant, owner=owner, name=name, shared=shared, params=params
    )


def test_a_marketer_builds_an_audience_from_this_weeks_missed_trials(
    marketer_client, tenant, marketer, trial
):
    booked, visited = trial
    view = view_of(tenant, marketer, {"stage": ["mql"], "tag_any": [str(booked.pk)],
                                      "tag_none": [str(visited.pk)]})  # fmt: skip
    listed = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    listed_names = sorted(c.name for c in listed.context["page"].items)
    assert listed_names == ["没来的"]

    page = marketer_client.get(url("audience_create", tenant), {"from_view": view.pk})
    assert page.status_code == 200
    form = page.context["form"]
    assert form["name"].value() == THIS_WEEK
    assert form["gate"].value() == "exact" and form["stages"].value() == ["mql"]
    assert form["status"].value() == ""  # the list showed active and lost contacts alike
    assert form["tag_any"].value() == [booked.pk] and form["tag_none"].value() == [visited.pk]
    html = page.content.decode()
    assert "Filled in from the view “本周试听未到访”" in html
    assert "cannot hold" not in html  # everything the view filters by, the audience holds

    # saved as the form stands (what the browser posts back), it holds who the list showed
    data = {name: form[name].value() for name in ("name", "gate", "stages", "status", "tag_any",
                                                  "tag_none")}  # fmt: skip
    response = marketer_client.post(url("audience_create", tenant), data)
    audience = Audience.objects.for_tenant(tenant).get()
    assert response.url == url("audience_detail", tenant, audience.pk)
    audience_recompute(audience=audience)
    members = AudienceMember.objects.for_tenant(tenant).filter(audience=audience)
    assert sorted(members.values_list("contact__name", flat=True)) == listed_names


def test_what_an_audience_cannot_hold_is_named_on_the_form(
    marketer_client, tenant, marketer, sales, admin, trial
):
    booked, _visited = trial
    campus = custom_field_create(tenant=tenant, actor=admin, label="校区", kind="text")
    view = view_of(tenant, marketer, {
        "q": ["试听"], "owner": [str(sales.pk)], "activity": ["at_risk"],
        "tag_all": [str(booked.pk)], "sort": ["name"], f"cf_{campus.key}": ["浦东"],
        "cf_gone__empty": ["1"], "retired_filter": ["1"],
    })  # fmt: skip
    start = audience_initial_from_view(view=view)
    assert start.initial["tag_all"] == [booked.pk]
    assert start.initial["gate"] == "at_or_past" and start.initial["stages"] == ["subscriber"]
    # a condition on one of the company's fields, the audience holds; one on a field deleted
    # since cannot apply and is named
    assert start.initial["custom"] == {f"cf_{campus.key}": "浦东"}
    assert start.left_out == [
        "Search “试听”", f"Owner: {sales.display_name}", "Activity status: At risk",
        "gone is empty", "Filter “retired_filter”",
    ]  # fmt: skip
    html = marketer_client.get(url("audience_create", tenant), {"from_view": view.pk})
    html = html.content.decode()
    assert "An audience cannot hold these filters of the view; they are left out:" in html
    for words in ("<li>Search “试听”</li>", f"<li>Owner: {sales.display_name}</li>",
                  "<li>Activity status: At risk</li>"):  # fmt: skip
        assert words in html
    assert f'id="id_cf_{campus.key}" name="cf_{campus.key}" type="text" value="浦东"' in html


def test_owner_me_and_a_tier_are_mapped_or_named(tenant, marketer):
    gold = Tier.objects.create(tenant=tenant, name="金卡", threshold=5000)
    start = audience_initial_from_view(
        view=view_of(tenant, marketer, {"owner": ["me"], "tier": [f"{gold.pk}+"]})
    )
    assert start.initial["tier_at_least"] == gold.pk
    assert start.left_out == ["Owner: the member who opens the list"]
    exactly = audience_initial_from_view(
        view=view_of(tenant, marketer, {"tier": [str(gold.pk)]}, name="只要金卡")
    )
    assert exactly.initial["tier_at_least"] is None
    assert exactly.left_out == ["Tier 金卡 exactly (an audience takes a tier or higher)"]
    none = audience_initial_from_view(
        view=view_of(tenant, marketer, {"tier": ["none"], "status": ["lost"]}, name="无等级")
    )
    assert none.left_out == ["Customers without a tier"]
    assert none.initial["status"] == "lost"


def test_a_stage_named_by_its_label_is_mapped_and_a_deleted_tag_is_named(
    tenant, marketer, admin, trial
):
    booked, visited = trial
    view = view_of(tenant, marketer, {"stage": ["Lead"], "tag_none": [str(visited.pk)],
                                      "tag_any": [str(booked.pk)]})  # fmt: skip
    tag_delete(tag=visited, actor=admin)
    start = audience_initial_from_view(view=view)
    assert (start.initial["gate"], start.initial["stages"]) == ("exact", ["lead"])
    assert start.initial["tag_none"] == [] and start.initial["tag_any"] == [booked.pk]
    assert start.left_out == ["1 tag that was deleted"]


def test_the_form_offers_the_views_the_member_may_open(marketer_client, tenant, marketer, sales):
    view_of(tenant, marketer, {"stage": ["mql"]}, shared=False, name="我的")
    view_of(tenant, sales, {"stage": ["sql"]}, shared=True, name="销售共享的")
    view_of(tenant, sales, {"stage": ["sql"]}, shared=False, name="销售私人的")
    page = marketer_client.get(url("audience_create", tenant))
    assert [v.name for v in page.context["saved_views"]] == ["我的", "销售共享的"]
    assert "Start from a saved view" in page.content.decode()


def test_a_view_the_member_cannot_open_is_not_found(
    marketer_client, tenant, sales, outsider, trial
):
    private = view_of(tenant, sales, {"stage": ["mql"]}, shared=False)
    theirs = view_of(outsider.tenant, outsider, {"stage": ["mql"]})
    for view in (private, theirs):
        response = marketer_client.get(url("audience_create", tenant), {"from_view": view.pk})
        assert response.status_code == 404
    assert (
        marketer_client.get(url("audience_create", tenant), {"from_view": "x"}).status_code == 404
    )


def test_sales_may_not_build_audiences_from_views(sales_client, tenant, sales):
    view = view_of(tenant, sales, {"stage": ["mql"]}, shared=False)
    response = sales_client.get(url("audience_create", tenant), {"from_view": view.pk})
    assert response.status_code == 403
    page = sales_client.get(url("contact_list", tenant), {"view": view.pk}).content.decode()
    assert "Build an audience from this view" not in page


def test_the_side_list_links_the_open_view_to_a_new_audience(tenant, marketer):
    other = MembershipFactory(tenant=tenant, role="marketer")
    view = view_of(tenant, marketer, {"stage": ["mql"]})
    page = client_for(other).get(url("contact_list", tenant), {"view": view.pk})
    link = f'href="{url("audience_create", tenant)}?from_view={view.pk}"'
    assert link in page.content.decode()
