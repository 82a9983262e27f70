"""Admins put a group's tags in order (tiers read 普通, 银卡, 金卡, 铂金, not by character code),
and every page that lists them follows it (issue 20, item 7a)."""

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse

from crm.services import ServiceError
from integrations.services import api_token_create
from tagging.models import Tag, TagGroup
from tagging.services import contact_tag_add, tag_create, tag_group_order, tag_move, tag_update
from tests.conftest import client_for

TIERS = ["普通", "银卡", "金卡", "铂金"]
# what sorting by name gives (character codes: 普 U+666E, 金 U+91D1, 铂 U+94C2, 银 U+94F6)
BY_CODE = sorted(TIERS)


@pytest.fixture
def tiers(tenant, admin):
    """The tier group, its tags created in an order that is neither the tiers' nor by name."""
    group = TagGroup.objects.create(tenant=tenant, key="tier", label="会员等级")
    made = {label: tag_create(tenant=tenant, actor=admin, group=group, label=label)
            for label in ["金卡", "铂金", "普通", "银卡"]}  # fmt: skip
    return group, made


def shown(fragment: str, labels=TIERS) -> list[str]:
    """`labels` in the order they first appear in `fragment`."""
    return sorted((label for label in labels if label in fragment), key=fragment.index)


def between(html: str, start: str, end: str) -> str:
    at = html.index(start)
    return html[at : html.index(end, at)]


def order_of(group) -> list[str]:
    return list(
        Tag.objects.for_tenant(group.tenant).filter(group=group).values_list("label", flat=True)
    )


def test_new_tags_go_last_in_their_group(tiers):
    group, _made = tiers
    assert order_of(group) == ["金卡", "铂金", "普通", "银卡"]


def test_an_admin_drags_the_tiers_into_order_and_every_page_lists_them_so(
    admin_client, tenant, admin, tiers, contact
):
    group, made = tiers
    response = admin_client.post(
        reverse("tag_group_order", args=[tenant.slug, group.pk]),
        {"tag": [made[label].pk for label in TIERS]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    rows = response.content.decode()
    assert shown(between(rows, "<tr", "</tbody>")) == TIERS
    assert "The order of “会员等级” is saved." in rows
    assert order_of(group) == TIERS
    for label in TIERS:
        contact_tag_add(contact=contact, tag=made[label], actor=admin)
    slug = tenant.slug

    settings_page = admin_client.get(reverse("tag_settings", args=[slug])).content.decode()
    assert shown(between(settings_page, f'id="group-{group.pk}-tags"', "</tbody>")) == TIERS

    contact_page = admin_client.get(reverse("contact_detail", args=[slug, contact.pk]))
    assert shown(between(contact_page.content.decode(), 'id="tags-panel"', "</section>")) == TIERS

    contacts = admin_client.get(reverse("contact_list", args=[slug])).content.decode()
    assert shown(between(contacts, 'name="tag_any"', "</select>")) == TIERS  # the filter
    assert shown(between(contacts, "<tbody", "</tbody>")) == TIERS  # the tags column

    rule_form = admin_client.get(reverse("rule_create", args=[slug])).content.decode()
    assert shown(between(rule_form, 'name="add_tags"', "</select>")) == TIERS  # the picker

    audience = admin_client.get(reverse("audience_create", args=[slug])).content.decode()
    assert shown(between(audience, 'name="tag_any"', "</select>")) == TIERS

    export = admin_client.get(reverse("contacts_export", args=[slug]))
    assert "普通、银卡、金卡、铂金" in b"".join(export.streaming_content).decode("utf-8-sig")

    token = api_token_create(tenant=tenant, actor=None, membership=admin, name="t")[1]
    api = Client(headers={"Authorization": f"Bearer {token}"})
    listed = [item["label"] for item in api.get("/api/v1/tags").json()["items"]]
    assert listed == TIERS
    (tier_group,) = api.get("/api/v1/tag-groups").json()["items"]
    assert [tag["label"] for tag in tier_group["tags"]] == TIERS


def test_the_move_buttons_work_as_plain_forms(admin_client, tenant, tiers):
    group, made = tiers  # 金卡, 铂金, 普通, 银卡
    url = reverse("tag_move", args=[tenant.slug, made["普通"].pk])
    response = admin_client.post(url, {"direction": "up"}, follow=True)
    assert response.redirect_chain == [(f"/t/{tenant.slug}/settings/tags/#group-{group.pk}", 302)]
    assert "“普通” moved up." in response.content.decode()
    admin_client.post(url, {"direction": "up"})
    assert order_of(group) == ["普通", "金卡", "铂金", "银卡"]
    # first already: nothing moves, and it says so
    response = admin_client.post(url, {"direction": "up"}, follow=True)
    assert "“普通” is first already." in response.content.decode()
    assert order_of(group) == ["普通", "金卡", "铂金", "银卡"]
    silver = reverse("tag_move", args=[tenant.slug, made["银卡"].pk])
    admin_client.post(silver, {"direction": "up"})
    admin_client.post(silver, {"direction": "up"})
    assert order_of(group) == TIERS
    response = admin_client.post(url, {"direction": "down"}, headers={"HX-Request": "true"})
    rows = between(response.content.decode(), "<tr", "</tbody>")
    assert shown(rows) == ["银卡", "普通", "金卡", "铂金"]
    assert "“普通” moved down." in response.content.decode()


def test_the_settings_page_offers_each_move_that_can_be_made(admin_client, tenant, tiers):
    group, made = tiers
    page = admin_client.get(reverse("tag_settings", args=[tenant.slug])).content.decode()
    rows = re.findall(r'<tr id="tag-(\d+)".*?</tr>', page, flags=re.S)
    assert rows == [str(made[label].pk) for label in ["金卡", "铂金", "普通", "银卡"]]
    first = between(page, f'id="tag-{made["金卡"].pk}"', "</tr>")
    last = between(page, f'id="tag-{made["银卡"].pk}"', "</tr>")
    assert 'value="up" class="order-button" title="Move up" disabled' in first
    assert 'value="down" class="order-button" title="Move down">' in first
    assert 'value="down" class="order-button" title="Move down" disabled' in last
    assert "Move “银卡” up" in last  # what a screen reader says of the ↑


def test_an_order_that_is_not_the_groups_tags_changes_nothing(admin_client, tenant, tiers):
    group, made = tiers
    before = order_of(group)
    url = reverse("tag_group_order", args=[tenant.slug, group.pk])
    for ids in (
        [made[label].pk for label in TIERS[:3]],  # one left out (added meanwhile)
        [made[label].pk for label in [*TIERS, "普通"]],  # one twice
        [*(made[label].pk for label in TIERS[1:]), 999999],  # one that is not there
    ):
        response = admin_client.post(url, {"tag": ids}, headers={"HX-Request": "true"})
        assert response.status_code == 409
        assert "The tags of “会员等级” changed meanwhile" in response.content.decode()
        rows = between(response.content.decode(), "<tr", "</tbody>")
        assert shown(rows) == before  # the rows as they are
    assert order_of(group) == before


def test_a_drag_on_a_page_a_colleague_has_reordered_since_does_not_undo_their_order(
    admin_client, tenant, admin, tiers
):
    group, made = tiers
    url = reverse("tag_group_order", args=[tenant.slug, group.pk])
    page_showed = [made[label].pk for label in ["金卡", "铂金", "普通", "银卡"]]
    # a colleague moves 普通 up while this page is open
    tag_move(tag=made["普通"], actor=admin, up=True)
    theirs = order_of(group)
    assert theirs == ["金卡", "普通", "铂金", "银卡"]
    # this page drags 银卡 to the top of the order it still shows
    dragged = [made["银卡"].pk, *page_showed[:3]]
    response = admin_client.post(
        url, {"tag": dragged, "seen": page_showed}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    assert "The tags of “会员等级” changed meanwhile" in response.content.decode()
    assert shown(between(response.content.decode(), "<tr", "</tbody>")) == theirs
    assert order_of(group) == theirs
    # with the page as it now is, the drag is saved
    now = [made[label].pk for label in theirs]
    response = admin_client.post(
        url, {"tag": [made["银卡"].pk, *now[:3]], "seen": now}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert order_of(group) == ["银卡", "金卡", "普通", "铂金"]


def test_a_tag_of_another_group_does_not_join_the_order(admin, tiers, make_tag):
    group, made = tiers
    stranger = make_tag("来源", "地推")
    ids = [*(made[label].pk for label in TIERS[1:]), stranger.pk]
    with pytest.raises(ServiceError):
        tag_group_order(group=group, actor=admin, tag_ids=ids)
    assert order_of(group) == ["金卡", "铂金", "普通", "银卡"]


def test_a_tag_moved_to_another_group_goes_last_there(admin, tiers, make_tag):
    group, made = tiers
    other = make_tag("来源", "地推").group
    tag_update(tag=made["金卡"], actor=admin, label="金卡", group=other)
    tag_create(tenant=group.tenant, actor=admin, group=other, label="公众号")
    assert order_of(other) == ["地推", "金卡", "公众号"]


def test_sales_may_not_order_tags(sales_client, sales, tenant, tiers):
    group, made = tiers
    before = order_of(group)
    move = reverse("tag_move", args=[tenant.slug, made["普通"].pk])
    assert sales_client.post(move, {"direction": "up"}).status_code == 403
    order = reverse("tag_group_order", args=[tenant.slug, group.pk])
    ids = [made[label].pk for label in TIERS]
    assert sales_client.post(order, {"tag": ids}).status_code == 403
    with pytest.raises(ServiceError):
        tag_move(tag=made["普通"], actor=sales, up=True)
    assert order_of(group) == before


def test_a_marketer_who_keeps_the_tags_may_order_them(marketer_client, tenant, tiers):
    group, made = tiers
    url = reverse("tag_move", args=[tenant.slug, made["银卡"].pk])
    assert marketer_client.post(url, {"direction": "up"}).status_code == 302
    assert order_of(group) == ["金卡", "铂金", "银卡", "普通"]


def test_another_companys_admin_finds_neither_url(outsider, other_tenant, tenant, tiers):
    group, made = tiers
    before = order_of(group)
    rival = client_for(outsider)
    ids = [made[label].pk for label in TIERS]
    for slug in (tenant.slug, other_tenant.slug):
        move = reverse("tag_move", args=[slug, made["普通"].pk])
        assert rival.post(move, {"direction": "up"}).status_code == 404
        order = reverse("tag_group_order", args=[slug, group.pk])
        assert rival.post(order, {"tag": ids}).status_code == 404
    assert order_of(group) == before


def test_the_buttons_need_the_csrf_token(admin, tenant, tiers):
    group, made = tiers
    guarded = client_for(admin, enforce_csrf_checks=True)
    move = reverse("tag_move", args=[tenant.slug, made["普通"].pk])
    assert guarded.post(move, {"direction": "up"}).status_code == 403
    order = reverse("tag_group_order", args=[tenant.slug, group.pk])
    assert guarded.post(order, {"tag": [made[label].pk for label in TIERS]}).status_code == 403
    assert order_of(group) == ["金卡", "铂金", "普通", "银卡"]


def test_the_migration_keeps_the_order_shown_and_puts_known_ladders_in_theirs(make_tag):
    migration = importlib.import_module("tagging.migrations.0020_tag_position")
    tiers = [make_tag("会员等级", label) for label in ["金卡", "普通", "铂金", "银卡", "VIP"]]
    sources = [make_tag("来源", label) for label in ["抖音", "公众号", "地推"]]
    intents = [make_tag("意向", label) for label in ["低意向", "高意向", "中意向"]]
    Tag.objects.for_tenant(tiers[0].tenant).update(position=0)  # as the column arrives
    migration.forwards(django_apps, None)
    assert order_of(tiers[0].group) == [*TIERS, "VIP"]  # the ladder, then the rest by name
    assert order_of(intents[0].group) == ["高意向", "中意向", "低意向"]
    assert order_of(sources[0].group) == sorted(["抖音", "公众号", "地推"])  # as shown before
    positions = Tag.objects.for_tenant(tiers[0].tenant).filter(group=tiers[0].group)
    assert list(positions.values_list("position", flat=True)) == [0, 1, 2, 3, 4]
