"""Saved views: "a marketer saves 本周试听未到访 as a shared view" and the whole company opens it
from the contact list's side list; private views stay private; each member's default view."""

from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import savedviews
from crm.customfields import custom_field_create, custom_field_delete
from crm.models import Role, SavedView, SavedViewDefault
from crm.permissions import can_delete_saved_view, can_edit_saved_view
from crm.services import NotAllowed, ServiceError
from crm.tenancy import membership_remove
from crm.views import filter_query
from tagging.services import contact_tag_add, tag_delete
from tests.conftest import client_for
from tests.factories import ContactFactory, MembershipFactory

THIS_WEEK = "本周试听未到访"


def url(name, tenant, *args):
    return reverse(name, args=[tenant.slug, *args])


def list_of(response) -> list[str]:
    return sorted(c.name for c in response.context["page"].items)


@pytest.fixture
def trial(tenant, make_tag):
    """Three MQLs: one booked a trial and came, one booked and did not, one booked nothing."""
    booked, visited = make_tag("试听", "已约试听"), make_tag("试听", "已到访")
    came = ContactFactory(tenant=tenant, name="来了的", stage="mql")
    missed = ContactFactory(tenant=tenant, name="没来的", stage="mql")
    ContactFactory(tenant=tenant, name="没约的", stage="mql")
    ContactFactory(tenant=tenant, name="别的阶段", stage="lead")
    for contact in (came, missed):
        contact_tag_add(contact=contact, tag=booked, actor=None)
    contact_tag_add(contact=came, tag=visited, actor=None)
    return SimpleNamespace(booked=booked, visited=visited)


def trial_state(trial) -> str:
    """The list's query string once the marketer has filtered it (as the filter form sends it:
    every field, the empty ones too, and the default sort)."""
    return (
        f"q=&stage=mql&status=&owner=&tag_any={trial.booked.pk}&tag_none={trial.visited.pk}"
        "&sort=-created"
    )


def save(client, tenant, *, name=THIS_WEEK, params="", shared=False):
    data = {"name": name, "params": params}
    if shared:
        data["shared"] = "on"
    return client.post(url("saved_view_create", tenant), data)


def test_a_marketer_saves_this_weeks_missed_trials_and_the_sales_team_opens_it(
    marketer_client, sales_client, tenant, marketer, trial
):
    response = save(marketer_client, tenant, params=trial_state(trial), shared=True)

    view = SavedView.objects.for_tenant(tenant).get()
    assert (view.name, view.owner, view.shared) == (THIS_WEEK, marketer, True)
    # the list's own parameters, without the empty ones or the default sort
    assert view.params == {
        "stage": ["mql"], "tag_any": [str(trial.booked.pk)], "tag_none": [str(trial.visited.pk)]
    }  # fmt: skip
    assert response.url == f"{url('contact_list', tenant)}?view={view.pk}"
    opened = marketer_client.get(response.url)
    assert list_of(opened) == ["没来的"]

    # the sales team finds it under "Shared views" and opens it with one click
    page = sales_client.get(url("contact_list", tenant))
    assert [v.name for v in page.context["saved_views"].shared] == [THIS_WEEK]
    html = page.content.decode()
    assert f'href="{url("contact_list", tenant)}?view={view.pk}"' in html
    opened = sales_client.get(url("contact_list", tenant), {"view": view.pk})
    assert list_of(opened) == ["没来的"]
    assert opened.context["saved_views"].open == view
    assert 'aria-current="true">本周试听未到访</a>' in opened.content.decode()


def test_a_view_keeps_every_parameter_the_list_writes_and_nothing_else(
    marketer_client, tenant, trial
):
    state = f"{trial_state(trial)}&after=abc&view=12&csrfmiddlewaretoken=x&shoe_size=42&q=+试听+"
    save(marketer_client, tenant, params=state)
    view = SavedView.objects.for_tenant(tenant).get()
    assert view.params == {
        "q": ["试听"], "stage": ["mql"], "tag_any": [str(trial.booked.pk)],
        "tag_none": [str(trial.visited.pk)],
    }  # fmt: skip
    # whatever the list writes for its filters is kept, so a filter added to it is kept too
    filters = savedviews.filter_form(savedviews.query_without_view("sort=name&owner=me")).filters()
    assert savedviews.state_params(filters, serialise=filter_query) == {
        "owner": ["me"], "sort": ["name"]
    }  # fmt: skip


def test_the_side_list_shows_my_views_and_the_shared_ones_by_name(
    marketer_client, tenant, marketer, sales
):
    SavedView.objects.create(tenant=tenant, owner=marketer, name="我的 B")
    SavedView.objects.create(tenant=tenant, owner=marketer, name="我的 A")
    SavedView.objects.create(tenant=tenant, owner=sales, name="销售的共享", shared=True)
    SavedView.objects.create(tenant=tenant, owner=sales, name="销售的私人")
    views = marketer_client.get(url("contact_list", tenant)).context["saved_views"]
    assert [v.name for v in views.mine] == ["我的 A", "我的 B"]
    assert [v.name for v in views.shared] == ["销售的共享"]


def test_the_side_list_costs_one_query_however_many_views(sales_client, tenant, sales):
    def page_queries():
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            sales_client.get(url("contact_list", tenant))
        return [q["sql"] for q in captured.captured_queries]

    SavedView.objects.create(tenant=tenant, owner=sales, name="一个")
    few = page_queries()
    for n in range(10):
        owner = MembershipFactory(tenant=tenant, role="marketer")
        SavedView.objects.create(tenant=tenant, owner=owner, name=f"共享{n}", shared=True)
    many = page_queries()
    assert len(many) == len(few)
    assert len([sql for sql in many if "crm_savedview" in sql]) == 1


def test_a_colleagues_private_view_is_not_found(
    marketer_client, sales_client, tenant, sales, marketer
):
    private = SavedView.objects.create(
        tenant=tenant, owner=sales, name="我的跟进", params={"owner": ["me"]}
    )
    page = marketer_client.get(url("contact_list", tenant))
    assert "我的跟进" not in page.content.decode()
    for name in ("saved_view_edit", "saved_view_update", "saved_view_delete", "saved_view_default"):
        assert marketer_client.post(url(name, tenant, private.pk)).status_code == 404, name
    assert marketer_client.get(url("saved_view_edit", tenant, private.pk)).status_code == 404
    # named in the list's address, it is not opened, and the page says so without naming it
    page = marketer_client.get(url("contact_list", tenant), {"view": private.pk})
    assert page.context["saved_views"].open is None
    assert page.context["saved_views"].missing
    assert "我的跟进" not in page.content.decode()
    assert not SavedViewDefault.objects.for_tenant(tenant).exists()
    assert SavedView.objects.for_tenant(tenant).get() == private
    assert sales_client.get(url("saved_view_edit", tenant, private.pk)).status_code == 200


def test_another_companys_view_is_not_opened_in_mine(admin_client, tenant, outsider):
    theirs = SavedView.objects.create(
        tenant=outsider.tenant, owner=outsider, name="别家的", shared=True,
        params={"stage": ["customer"]},
    )  # fmt: skip
    page = admin_client.get(url("contact_list", tenant), {"view": theirs.pk})
    assert page.context["saved_views"].open is None and page.context["saved_views"].missing
    assert admin_client.post(url("saved_view_delete", tenant, theirs.pk)).status_code == 404
    assert SavedView.objects.for_tenant(outsider.tenant).get() == theirs


def test_only_its_owner_changes_a_shared_view_and_an_admin_may_delete_it(
    tenant, marketer, admin, admin_client
):
    shared = SavedView.objects.create(tenant=tenant, owner=marketer, name=THIS_WEEK, shared=True,
                                      params={"stage": ["mql"]})  # fmt: skip
    other_marketer = MembershipFactory(tenant=tenant, role="marketer")
    colleague = client_for(other_marketer)
    assert colleague.post(url("saved_view_delete", tenant, shared.pk)).status_code == 403
    response = colleague.post(url("saved_view_update", tenant, shared.pk), {"params": "stage=sql"})
    assert response.status_code == 403
    response = colleague.post(url("saved_view_edit", tenant, shared.pk), {"name": "改了"})
    assert response.status_code == 403
    # its page sends them back to the view on the list, saying why
    response = colleague.get(url("saved_view_edit", tenant, shared.pk), follow=True)
    assert response.redirect_chain == [(f"{url('contact_list', tenant)}?view={shared.pk}", 302)]
    assert "Only the member who made this view may change it." in response.content.decode()
    shared.refresh_from_db()
    assert (shared.name, shared.params) == (THIS_WEEK, {"stage": ["mql"]})
    # an admin may not change it either, but may delete it (a departed colleague's, say)
    assert (
        admin_client.post(url("saved_view_edit", tenant, shared.pk), {"name": "x"}).status_code
        == 403
    )
    response = admin_client.post(url("saved_view_delete", tenant, shared.pk))
    assert response.status_code == 302
    assert not SavedView.objects.for_tenant(tenant).exists()


def test_an_admin_cannot_delete_a_colleagues_private_view(tenant, sales, admin):
    private = SavedView.objects.create(tenant=tenant, owner=sales, name="私人")
    with pytest.raises(NotAllowed):
        savedviews.saved_view_delete(view=private, actor=admin)
    assert SavedView.objects.for_tenant(tenant).get() == private


def test_sales_keep_their_views_private(sales_client, sales, tenant):
    response = save(sales_client, tenant, name="共享不了", params="stage=sql", shared=True)
    assert response.status_code == 403
    assert not SavedView.objects.for_tenant(tenant).exists()
    # without the box (their form has none) it is saved, private
    page = sales_client.get(url("contact_list", tenant)).content.decode()
    assert 'name="shared"' not in page
    save(sales_client, tenant, name="我的 SQL", params="stage=sql")
    view = SavedView.objects.for_tenant(tenant).get()
    assert (view.name, view.owner, view.shared, view.params) == (
        "我的 SQL", sales, False, {"stage": ["sql"]}
    )  # fmt: skip


def test_who_may_change_or_delete_a_view():
    admin, marketer, sales = (SimpleNamespace(pk=pk, role=r) for pk, r in enumerate(Role.values))
    for owner in (admin, marketer, sales):
        for shared in (False, True):
            view = SimpleNamespace(owner_id=owner.pk, shared=shared)
            for member in (admin, marketer, sales):
                mine = member is owner
                assert can_edit_saved_view(member, view) == (
                    mine and (not shared or member is not sales)
                ), (owner.role, shared, member.role)
                assert can_delete_saved_view(member, view) == (
                    mine or (shared and member is admin)
                ), (owner.role, shared, member.role)
            assert not can_edit_saved_view(None, view) and not can_delete_saved_view(None, view)


def test_a_name_already_taken_is_refused_with_the_state_kept(marketer_client, tenant, marketer):
    SavedView.objects.create(tenant=tenant, owner=marketer, name=THIS_WEEK)
    response = save(marketer_client, tenant, name=f"  {THIS_WEEK} ", params="stage=sql")
    assert response.status_code == 400
    html = response.content.decode()
    assert "You already have a view named “本周试听未到访”." in html
    assert 'value="stage=sql"' in html  # the list's state is still there to save under a new name
    assert f'href="{url("contact_list", tenant)}?stage=sql"' in html  # and to go back to
    assert SavedView.objects.for_tenant(tenant).count() == 1
    response = save(marketer_client, tenant, name="   ", params="stage=sql")
    assert response.status_code == 400
    assert SavedView.objects.for_tenant(tenant).count() == 1


def test_two_shared_views_cannot_share_a_name(tenant, marketer, admin):
    savedviews.saved_view_create(tenant=tenant, actor=marketer, name=THIS_WEEK, params={},
                                 shared=True)  # fmt: skip
    with pytest.raises(ServiceError, match="already shared"):
        savedviews.saved_view_create(tenant=tenant, actor=admin, name=THIS_WEEK, params={},
                                     shared=True)  # fmt: skip
    # the database holds it too, if two requests race past the check
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedView.objects.create(tenant=tenant, owner=admin, name=THIS_WEEK, shared=True)
    private = savedviews.saved_view_create(tenant=tenant, actor=admin, name=THIS_WEEK, params={})
    assert not private.shared


def test_a_tampered_state_is_refused(tenant, marketer):
    for params in ({"q": ["x" * 300]}, {"tag_any": [str(n) for n in range(500)]}, {"q": "x"}):
        with pytest.raises(ServiceError):
            savedviews.saved_view_create(tenant=tenant, actor=marketer, name="x", params=params)
    assert not SavedView.objects.for_tenant(tenant).exists()


def test_update_saves_the_lists_current_filters_into_the_open_view(
    marketer_client, tenant, marketer, trial
):
    view = SavedView.objects.create(tenant=tenant, owner=marketer, name=THIS_WEEK,
                                    params={"stage": ["mql"]})  # fmt: skip
    # the marketer changes the status on the open view: the list says so and offers Update
    page = marketer_client.get(
        f"{url('contact_list', tenant)}?stage=mql&status=lost&view={view.pk}"
    )
    views = page.context["saved_views"]
    assert views.open == view and views.changed
    assert "Update view" in page.content.decode()
    response = marketer_client.post(
        url("saved_view_update", tenant, view.pk), {"params": views.current_query}
    )
    assert response.url == f"{url('contact_list', tenant)}?view={view.pk}"
    view.refresh_from_db()
    assert view.params == {"stage": ["mql"], "status": ["lost"]}
    page = marketer_client.get(response.url)
    assert not page.context["saved_views"].changed
    assert "Update view" not in page.content.decode()


def test_rename_and_share_then_keep_private_again(marketer_client, tenant, marketer, sales):
    view = SavedView.objects.create(tenant=tenant, owner=marketer, name="试听", params={})
    response = marketer_client.post(
        url("saved_view_edit", tenant, view.pk), {"name": THIS_WEEK, "shared": "on"}
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.name, view.shared) == (THIS_WEEK, True)
    savedviews.saved_view_make_default(view=view, actor=sales)
    savedviews.saved_view_make_default(view=view, actor=marketer)
    marketer_client.post(url("saved_view_edit", tenant, view.pk), {"name": THIS_WEEK})
    view.refresh_from_db()
    assert not view.shared
    # the colleague no longer sees it, so it no longer opens their list; the owner's still does
    defaults = SavedViewDefault.objects.for_tenant(tenant).values_list("member", flat=True)
    assert list(defaults) == [marketer.pk]


def test_the_default_view_opens_the_bare_list_and_show_all_escapes_it(
    sales_client, tenant, sales, trial
):
    view = SavedView.objects.create(tenant=tenant, owner=sales, name="我的 MQL",
                                    params={"stage": ["mql"]})  # fmt: skip
    assert len(list_of(sales_client.get(url("contact_list", tenant)))) == 4
    response = sales_client.post(url("saved_view_default", tenant, view.pk))
    assert response.url == f"{url('contact_list', tenant)}?view={view.pk}"

    page = sales_client.get(url("contact_list", tenant))
    assert list_of(page) == sorted(["来了的", "没来的", "没约的"])
    html = page.content.decode()
    assert "Default view: 我的 MQL" in html
    assert f'href="{url("contact_list", tenant)}?view=all"' in html
    # the filters show the view's, and carry it on when changed
    assert '<option value="mql" selected>' in html
    assert f'<input type="hidden" name="view" value="{view.pk}">' in html

    everyone = sales_client.get(url("contact_list", tenant), {"view": "all"})
    assert len(list_of(everyone)) == 4
    assert everyone.context["saved_views"].open is None

    sales_client.post(url("saved_view_default", tenant, view.pk), {"clear": "1"})
    assert len(list_of(sales_client.get(url("contact_list", tenant)))) == 4


def test_one_default_per_member(tenant, sales, marketer):
    first = SavedView.objects.create(tenant=tenant, owner=sales, name="一")
    second = SavedView.objects.create(tenant=tenant, owner=marketer, name="二", shared=True)
    savedviews.saved_view_make_default(view=first, actor=sales)
    savedviews.saved_view_make_default(view=second, actor=sales)
    savedviews.saved_view_make_default(view=second, actor=marketer)
    defaults = SavedViewDefault.objects.for_tenant(tenant)
    assert sorted(defaults.values_list("member", "view")) == sorted(
        [(sales.pk, second.pk), (marketer.pk, second.pk)]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedViewDefault.objects.create(tenant=tenant, member=sales, view=first)
    # a colleague's private view cannot be one's default
    with pytest.raises(NotAllowed):
        savedviews.saved_view_make_default(view=first, actor=marketer)


def test_a_view_whose_tag_was_deleted_opens_without_it_and_says_so(
    marketer_client, tenant, marketer, admin, trial
):
    view = SavedView.objects.create(tenant=tenant, owner=marketer, name=THIS_WEEK, params={
        "stage": ["mql"], "tag_any": [str(trial.booked.pk)], "tag_none": [str(trial.visited.pk)],
    })  # fmt: skip
    tag_delete(tag=trial.visited, actor=admin)

    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    assert page.status_code == 200
    views = page.context["saved_views"]
    assert views.left_out == ["1 tag that was deleted"]
    # the rest of the view still applies: booked MQLs, whether they came or not
    assert list_of(page) == sorted(["来了的", "没来的"])
    html = page.content.decode()
    assert "Left out of this view, as it no longer applies:" in html
    assert "1 tag that was deleted" in html
    assert views.changed and "Update view" in html  # saving it again drops the deleted tag
    marketer_client.post(url("saved_view_update", tenant, view.pk), {"params": views.current_query})
    view.refresh_from_db()
    assert view.params == {"stage": ["mql"], "tag_any": [str(trial.booked.pk)]}


def test_a_view_with_a_value_the_list_no_longer_takes_opens_with_a_note(
    marketer_client, tenant, marketer, trial
):
    view = SavedView.objects.create(tenant=tenant, owner=marketer, name="旧的", params={
        "stage": ["mql"], "tier": ["not-a-tier"], "retired_filter": ["1"],
    })  # fmt: skip
    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    assert page.status_code == 200
    left_out = page.context["saved_views"].left_out
    assert len(left_out) == 2
    assert left_out[0].startswith("Tier: ")
    assert left_out[1] == "a filter that no longer exists (retired_filter)"
    assert list_of(page) == sorted(["来了的", "没来的", "没约的"])  # the stage still applies


def test_a_view_keeps_the_companys_own_fields_and_names_one_deleted_since(
    marketer_client, tenant, marketer, admin
):
    campus = custom_field_create(tenant=tenant, actor=admin, label="校区", kind="choice",
                                 options=["浦东", "徐汇"])  # fmt: skip
    birthday = custom_field_create(tenant=tenant, actor=admin, label="生日", kind="date")
    for name, where, born in (("浦东的", "浦东", "2016-05-01"), ("徐汇的", "徐汇", "2016-06-01"),
                              ("浦东大的", "浦东", "2010-01-01")):  # fmt: skip
        ContactFactory(tenant=tenant, name=name, stage="mql",
                       custom={campus.key: where, birthday.key: born})  # fmt: skip
    state = f"stage=mql&cf_{campus.key}=浦东&cf_{birthday.key}__min=2015-01-01&sort=-created"
    save(marketer_client, tenant, name="浦东的小朋友", params=state, shared=True)
    view = SavedView.objects.for_tenant(tenant).get()
    assert view.params == {
        f"cf_{campus.key}": ["浦东"], f"cf_{birthday.key}__min": ["2015-01-01"], "stage": ["mql"]
    }  # fmt: skip
    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    assert list_of(page) == ["浦东的"]
    assert page.context["saved_views"].left_out == []

    # the admin deletes 校区: the view opens without it, says so, and its birthday still applies
    custom_field_delete(field=campus, actor=admin)
    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    views = page.context["saved_views"]
    assert views.left_out == [f"a field that was deleted ({campus.key})"]
    assert list_of(page) == sorted(["浦东的", "徐汇的"])
    assert views.changed and f"cf_{campus.key}" not in views.current
    # a range the field's kind cannot read is named with the field's label
    view.params = {f"cf_{birthday.key}__min": ["明年"]}
    view.save()
    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    assert page.context["saved_views"].left_out == ["生日: “明年” no longer applies"]
    assert len(list_of(page)) == 3


def test_a_view_keeps_the_columns_chosen_and_drops_a_deleted_fields_column(
    marketer_client, tenant, marketer, admin
):
    campus = custom_field_create(tenant=tenant, actor=admin, label="校区", kind="text")
    ContactFactory(tenant=tenant, name="小明", custom={campus.key: "浦东"})
    # the Columns menu sends every box ticked, after "none"
    state = f"q=&sort=-created&cols=none&cols=phone&cols=cf:{campus.key}"
    save(marketer_client, tenant, name="电话和校区", params=state)
    view = SavedView.objects.for_tenant(tenant).get()
    assert view.params == {"cols": [f"phone,cf:{campus.key}"]}
    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    assert [column.label for column in page.context["columns"]] == ["Phone", "校区"]
    assert f'<th data-custom-field="{campus.key}">校区</th>' in page.content.decode()

    custom_field_delete(field=campus, actor=admin)
    page = marketer_client.get(url("contact_list", tenant), {"view": view.pk})
    views = page.context["saved_views"]
    assert views.left_out == [f"the column of a field that was deleted ({campus.key})"]
    assert [column.label for column in page.context["columns"]] == ["Phone"]
    marketer_client.post(url("saved_view_update", tenant, view.pk), {"params": views.current_query})
    view.refresh_from_db()
    assert view.params == {"cols": ["phone"]}


def test_an_htmx_search_brings_the_side_list_along(marketer_client, tenant, marketer):
    view = SavedView.objects.create(tenant=tenant, owner=marketer, name="SQL",
                                    params={"stage": ["sql"]})  # fmt: skip
    response = marketer_client.get(
        f"{url('contact_list', tenant)}?q=&stage=mql&sort=name&view={view.pk}",
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="saved-views"' in html and 'hx-swap-oob="true"' in html
    # "Save view" would keep what the list now shows
    assert 'name="params" value="sort=name&amp;stage=mql"' in html
    assert response.context["saved_views"].changed


def test_the_pager_keeps_the_open_view(marketer_client, tenant, marketer, settings):
    settings.CONTACTS_PAGE_SIZE = 2
    ContactFactory.create_batch(3, tenant=tenant, stage="sql")
    view = SavedView.objects.create(tenant=tenant, owner=marketer, name="SQL",
                                    params={"stage": ["sql"]})  # fmt: skip
    html = marketer_client.get(url("contact_list", tenant), {"view": view.pk}).content.decode()
    href = html.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert query["view"] == [str(view.pk)] and query["stage"] == ["sql"]
    second = marketer_client.get(url("contact_list", tenant) + href)
    assert second.context["saved_views"].open == view and not second.context["saved_views"].changed


def test_a_member_who_leaves_takes_their_private_views_and_leaves_the_shared_ones(
    tenant, admin, marketer
):
    SavedView.objects.create(tenant=tenant, owner=marketer, name="私人")
    shared = SavedView.objects.create(tenant=tenant, owner=marketer, name=THIS_WEEK, shared=True)
    membership_remove(membership=marketer, actor=admin)
    assert list(SavedView.objects.for_tenant(tenant)) == [shared]
    shared.refresh_from_db()
    assert shared.owner is None
    # an admin may still delete it
    savedviews.saved_view_delete(view=shared, actor=admin)
    assert not SavedView.objects.for_tenant(tenant).exists()
