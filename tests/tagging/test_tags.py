"""Marketers build a tag scheme; tags keep their contacts through renames and merges."""

import pytest
from django.urls import reverse

from crm.models import Contact
from crm.services import ServiceError
from tagging.models import ContactTag, Rule, Tag, TagAlias, TagGroup
from tagging.selectors import tag_resolve
from tagging.services import (
    contact_tag_add,
    contact_tag_remove,
    contacts_bulk_tag,
    tag_alias_add,
    tag_create,
    tag_delete,
    tag_merge,
    tag_update,
)
from tests.factories import ContactFactory


def tags_of(contact):
    return sorted(
        ContactTag.objects.for_tenant(contact.tenant)
        .filter(contact=contact)
        .values_list("tag__label", flat=True)
    )


def test_a_marketer_builds_groups_and_tags_from_the_settings_page(marketer_client, tenant):
    marketer_client.post(
        reverse("tag_group_create", args=[tenant.slug]),
        {"group-label": "意向", "group-colour": "#f79009", "group-single_choice": "on"},
    )
    group = TagGroup.objects.for_tenant(tenant).get()
    assert (group.label, group.single_choice) == ("意向", True)
    marketer_client.post(
        reverse("tag_create", args=[tenant.slug]), {"tag-label": "高意向", "tag-group": group.pk}
    )
    html = marketer_client.get(reverse("tag_settings", args=[tenant.slug])).content.decode()
    assert "意向" in html and "高意向" in html


def test_sales_cannot_change_the_tag_scheme(sales_client, tenant, make_tag):
    response = sales_client.post(
        reverse("tag_group_create", args=[tenant.slug]),
        {"group-label": "x", "group-colour": "#000000"},
    )
    assert response.status_code == 403
    assert not TagGroup.objects.for_tenant(tenant).exists()


def test_names_are_unique_across_labels_and_aliases(tenant, marketer, make_tag):
    lead = make_tag("来源", "潜在客户")
    tag_alias_add(tag=lead, actor=marketer, name="潜客")
    with pytest.raises(ServiceError, match="already the name or an alias"):
        tag_create(tenant=tenant, actor=marketer, group=lead.group, label=" 潜客 ")
    other = make_tag("来源", "地推")
    with pytest.raises(ServiceError):
        tag_alias_add(tag=other, actor=marketer, name="潜在客户")
    with pytest.raises(ServiceError):
        tag_update(tag=other, actor=marketer, label="潜客", group=other.group)
    assert Tag.objects.for_tenant(tenant).get(pk=other.pk).label == "地推"


def test_the_same_name_is_free_in_another_company(tenant, other_tenant, make_tag):
    make_tag("来源", "地推")
    make_tag("来源", "地推", on=other_tenant)
    assert Tag.objects.for_tenant(other_tenant).count() == 1


def test_aliases_resolve_to_their_tag_whatever_the_case(tenant, marketer, make_tag):
    tag = make_tag("行业", "Education")
    tag_alias_add(tag=tag, actor=marketer, name="教培")
    assert tag_resolve(tenant=tenant, name="education") == tag
    assert tag_resolve(tenant=tenant, name=" 教培 ") == tag
    assert tag_resolve(tenant=tenant, name="nothing") is None


def test_a_single_choice_group_keeps_one_tag_per_contact(tenant, sales, make_tag):
    high = make_tag("意向", "高", single_choice=True)
    low = make_tag("意向", "低", single_choice=True)
    source = make_tag("来源", "地推")
    contact = ContactFactory(tenant=tenant)
    contact_tag_add(contact=contact, tag=high, actor=sales)
    contact_tag_add(contact=contact, tag=source, actor=sales)
    contact_tag_add(contact=contact, tag=low, actor=sales)
    assert tags_of(contact) == ["低", "地推"]


def test_each_assignment_records_who_and_how(tenant, sales, make_tag):
    tag = make_tag("来源", "地推")
    contact = ContactFactory(tenant=tenant)
    assert contact_tag_add(contact=contact, tag=tag, actor=sales).added is True
    assert contact_tag_add(contact=contact, tag=tag, actor=sales).added is False
    held = ContactTag.objects.for_tenant(tenant).get()
    assert (held.added_by, held.channel) == (sales, "ui")


def test_merging_moves_every_contact_and_keeps_the_old_name_as_alias(tenant, marketer, make_tag):
    keep = make_tag("来源", "线下活动")
    old = make_tag("来源", "地推活动")
    tag_alias_add(tag=old, actor=marketer, name="发传单")
    both, only_old, only_keep = (ContactFactory(tenant=tenant) for _ in range(3))
    for contact, tags in ((both, [keep, old]), (only_old, [old]), (only_keep, [keep])):
        for tag in tags:
            contact_tag_add(contact=contact, tag=tag, actor=marketer)
    rule = Rule.objects.create(tenant=tenant, name="r", event_kind="event_attended")
    rule.add_tags.add(old)

    moved = tag_merge(source=old, target=keep, actor=marketer)

    assert moved == 1
    assert not Tag.objects.for_tenant(tenant).filter(pk=old.pk).exists()
    assert all(tags_of(c) == ["线下活动"] for c in (both, only_old, only_keep))
    aliases = TagAlias.objects.for_tenant(tenant).filter(tag=keep)
    assert set(aliases.values_list("name", flat=True)) == {"地推活动", "发传单"}
    assert tag_resolve(tenant=tenant, name="地推活动") == keep
    assert list(rule.add_tags.all()) == [keep]


def test_merge_from_the_page_says_what_happened(marketer_client, tenant, make_tag, marketer):
    keep, old = make_tag("来源", "A"), make_tag("来源", "B")
    contact_tag_add(contact=ContactFactory(tenant=tenant), tag=old, actor=marketer)
    response = marketer_client.post(
        reverse("tag_merge", args=[tenant.slug, old.pk]),
        {"target": keep.pk, "confirm": "yes"},
        follow=True,
    )
    assert "Merged “B” into “A”: 1 contact moved over; “B” is now an alias." in (
        response.content.decode()
    )


def test_deleting_asks_first_with_the_number_of_contacts(
    marketer_client, tenant, make_tag, marketer
):
    tag = make_tag("来源", "旧标签")
    for _ in range(2):
        contact_tag_add(contact=ContactFactory(tenant=tenant), tag=tag, actor=marketer)
    url = reverse("tag_delete", args=[tenant.slug, tag.pk])
    page = marketer_client.get(url).content.decode()
    assert "2 contacts will lose this tag." in page
    marketer_client.post(url, {})  # no confirmation: nothing happens
    assert Tag.objects.for_tenant(tenant).filter(pk=tag.pk).exists()
    marketer_client.post(url, {"confirm": "yes"})
    assert not Tag.objects.for_tenant(tenant).filter(pk=tag.pk).exists()
    assert not ContactTag.objects.for_tenant(tenant).exists()


def test_tag_delete_service_returns_the_count(tenant, marketer, make_tag):
    tag = make_tag("来源", "x")
    contact_tag_add(contact=ContactFactory(tenant=tenant), tag=tag, actor=marketer)
    assert tag_delete(tag=tag, actor=marketer) == 1


def test_tags_are_added_inline_by_name_alias_or_suggestion(
    sales_client, tenant, make_tag, marketer
):
    tag = make_tag("意向", "成人口语")
    tag_alias_add(tag=tag, actor=marketer, name="口语")
    contact = ContactFactory(tenant=tenant)
    suggest = sales_client.get(
        reverse("contact_tag_suggest", args=[tenant.slug, contact.pk]),
        {"name": "口"},
        HTTP_HX_REQUEST="true",
    )
    assert f'name="tag" value="{tag.pk}"' in suggest.content.decode()
    response = sales_client.post(
        reverse("contact_tag_add", args=[tenant.slug, contact.pk]),
        {"name": "口语"},
        HTTP_HX_REQUEST="true",
    )
    assert "Tagged “成人口语”." in response.content.decode()
    assert tags_of(contact) == ["成人口语"]
    sales_client.post(
        reverse("contact_tag_remove", args=[tenant.slug, contact.pk, tag.pk]),
        HTTP_HX_REQUEST="true",
    )
    assert tags_of(contact) == []
    unknown = sales_client.post(
        reverse("contact_tag_add", args=[tenant.slug, contact.pk]),
        {"name": "不存在"},
        HTTP_HX_REQUEST="true",
    )
    assert "There is no tag “不存在”." in unknown.content.decode()


def test_another_companys_tag_cannot_be_put_on_my_contact(
    sales_client, tenant, other_tenant, make_tag
):
    foreign = make_tag("来源", "别家", on=other_tenant)
    contact = ContactFactory(tenant=tenant)
    response = sales_client.post(
        reverse("contact_tag_add", args=[tenant.slug, contact.pk]), {"tag": foreign.pk}
    )
    assert response.status_code == 404
    assert tags_of(contact) == []
    with pytest.raises(ServiceError):
        contact_tag_add(contact=contact, tag=foreign, actor=None)


def test_bulk_add_and_remove_over_selected_and_all_matching(sales_client, tenant, make_tag):
    tag = make_tag("客户分类", "重点")
    people = [ContactFactory(tenant=tenant, name=f"张{i}") for i in range(3)]
    other = ContactFactory(tenant=tenant, name="李四")
    url = reverse("contacts_bulk_tag", args=[tenant.slug])
    response = sales_client.post(
        url, {"ids": [people[0].pk], "tag": tag.pk, "operation": "add"}, follow=True
    )
    assert "Tagged 1 contact “重点”." in response.content.decode()
    sales_client.post(url, {"scope": "all", "q": "张", "tag": tag.pk, "operation": "add"})
    assert [tags_of(p) for p in people] == [["重点"]] * 3 and tags_of(other) == []
    sales_client.post(url, {"scope": "all", "q": "张", "tag": tag.pk, "operation": "remove"})
    assert ContactTag.objects.for_tenant(tenant).count() == 0


def test_bulk_tag_in_a_single_choice_group_replaces(tenant, sales, make_tag):
    high = make_tag("意向", "高", single_choice=True)
    low = make_tag("意向", "低", single_choice=True)
    people = [ContactFactory(tenant=tenant) for _ in range(3)]
    contact_tag_add(contact=people[0], tag=high, actor=sales)
    assert contacts_bulk_tag(tenant=tenant, actor=sales, contacts=[p.pk for p in people],
                             tag=low, add=True) == 3  # fmt: skip
    assert all(tags_of(p) == ["低"] for p in people)


def test_removing_a_tag_the_contact_lacks_changes_nothing(tenant, sales, make_tag):
    tag = make_tag("来源", "x")
    assert contact_tag_remove(contact=ContactFactory(tenant=tenant), tag=tag, actor=sales) is False


def _names(response):
    return sorted(c.name for c in response.context["page"].items)


def test_tag_filters_any_all_none_with_stage(sales_client, tenant, make_tag, sales):
    a, b = make_tag("来源", "A"), make_tag("意向", "B")
    both = ContactFactory(tenant=tenant, name="AB", stage="lead")
    only_a = ContactFactory(tenant=tenant, name="A", stage="lead")
    only_b = ContactFactory(tenant=tenant, name="B", stage="mql")
    ContactFactory(tenant=tenant, name="none")
    for contact, tags in ((both, [a, b]), (only_a, [a]), (only_b, [b])):
        for tag in tags:
            contact_tag_add(contact=contact, tag=tag, actor=sales)
    url = reverse("contact_list", args=[tenant.slug])
    assert _names(sales_client.get(url, {"tag_any": [a.pk, b.pk]})) == ["A", "AB", "B"]
    assert _names(sales_client.get(url, {"tag_all": [a.pk, b.pk]})) == ["AB"]
    assert _names(sales_client.get(url, {"tag_none": [a.pk]})) == ["B", "none"]
    assert _names(sales_client.get(url, {"tag_any": [a.pk], "tag_none": [b.pk]})) == ["A"]
    assert _names(sales_client.get(url, {"tag_any": [b.pk], "stage": "mql"})) == ["B"]


def test_searching_a_tag_name_or_alias_finds_its_contacts(sales_client, tenant, make_tag, marketer):
    tag = make_tag("意向", "成人口语")
    tag_alias_add(tag=tag, actor=marketer, name="口语班")
    tagged = ContactFactory(tenant=tenant, name="王芳")
    contact_tag_add(contact=tagged, tag=tag, actor=marketer)
    ContactFactory(tenant=tenant, name="李四")
    url = reverse("contact_list", args=[tenant.slug])
    assert _names(sales_client.get(url, {"q": "口语班"})) == ["王芳"]


def test_a_foreign_tag_id_in_the_filter_is_no_tag_of_this_company(
    sales_client, tenant, other_tenant, make_tag
):
    """Another company's tag is, here, a tag that does not exist: the list says so and is not
    filtered by it (issue 20, item 7c), and nothing of the other company shows."""
    foreign = make_tag("来源", "别家", on=other_tenant)
    other_contact = ContactFactory(tenant=other_tenant, name="别人的")
    contact_tag_add(contact=other_contact, tag=foreign, actor=None)
    ContactFactory(tenant=tenant, name="我的")
    url = reverse("contact_list", args=[tenant.slug])
    for param in ("tag_any", "tag_none"):
        response = sales_client.get(url, {param: [foreign.pk]})
        assert _names(response) == ["我的"]
        assert "The tag this link filters by no longer exists" in response.content.decode()
        assert "别家" not in response.content.decode()
    assert Contact.objects.for_tenant(tenant).count() == 1


def test_keys_are_made_once_and_survive_renames(tenant, marketer):
    from tagging.services import tag_group_save

    group = tag_group_save(tenant=tenant, actor=marketer, label="来源")
    first = tag_create(tenant=tenant, actor=marketer, group=group, label="地推 传单")
    twin = tag_create(tenant=tenant, actor=marketer, group=group, label="地推-传单")
    assert (group.key, first.key, twin.key) == ("来源", "地推-传单", "地推-传单-2")
    tag_update(tag=first, actor=marketer, label="线下地推", group=group)
    assert Tag.objects.for_tenant(tenant).get(pk=first.pk).key == "地推-传单"


def test_bulk_tagging_never_redirects_off_the_site(sales_client, tenant, make_tag):
    tag = make_tag("来源", "x")
    contact = ContactFactory(tenant=tenant)
    response = sales_client.post(
        reverse("contacts_bulk_tag", args=[tenant.slug]),
        {"ids": [contact.pk], "tag": tag.pk, "operation": "add", "next": "//evil.example/"},
    )
    assert response.url == reverse("contact_list", args=[tenant.slug])


def test_a_single_choice_tag_says_what_it_replaced(sales_client, tenant, make_tag):
    high = make_tag("意向", "高", single_choice=True)
    low = make_tag("意向", "低", single_choice=True)
    contact = ContactFactory(tenant=tenant)
    contact_tag_add(contact=contact, tag=high, actor=None)
    url = reverse("contact_tag_add", args=[tenant.slug, contact.pk])
    html = sales_client.post(url, {"tag": low.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "Tagged “低” instead of “高” (one at a time in “意向”)." in html
    again = sales_client.post(url, {"tag": low.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "Already tagged “低”." in again
    empty = sales_client.post(url, {"name": " "}, HTTP_HX_REQUEST="true").content.decode()
    assert "Type a tag name or pick one." in empty


def test_merging_into_a_one_at_a_time_group_never_drops_a_tag(tenant, marketer, make_tag):
    high = make_tag("意向", "高意向", single_choice=True)
    medium = make_tag("意向", "中意向", single_choice=True)
    attended = make_tag("活动", "活动参与者")
    contact = ContactFactory(tenant=tenant)
    contact_tag_add(contact=contact, tag=high, actor=None)
    contact_tag_add(contact=contact, tag=attended, actor=None)
    with pytest.raises(ServiceError, match="Nothing was changed"):
        tag_merge(source=attended, target=medium, actor=marketer)
    assert tags_of(contact) == ["活动参与者", "高意向"]


def test_a_group_becomes_one_at_a_time_only_when_no_contact_holds_two(tenant, marketer, make_tag):
    from tagging.services import tag_group_save

    a, b = make_tag("课程兴趣", "口语"), make_tag("课程兴趣", "商务")
    contact = ContactFactory(tenant=tenant)
    contact_tag_add(contact=contact, tag=a, actor=None)
    contact_tag_add(contact=contact, tag=b, actor=None)
    with pytest.raises(ServiceError, match="1 contacts hold more than one tag"):
        tag_group_save(tenant=tenant, actor=marketer, group=a.group, label="课程兴趣",
                       single_choice=True)  # fmt: skip
    assert TagGroup.objects.for_tenant(tenant).get(pk=a.group_id).single_choice is False


def test_suggestions_match_inside_names_and_groups_and_skip_held_tags(
    sales_client, tenant, make_tag
):
    business = make_tag("课程兴趣", "商务英语")
    ielts = make_tag("课程兴趣", "雅思备考")
    contact = ContactFactory(tenant=tenant)
    contact_tag_add(contact=contact, tag=ielts, actor=None)
    url = reverse("contact_tag_suggest", args=[tenant.slug, contact.pk])
    html = sales_client.get(url, {"name": "英语"}).content.decode()
    assert f'value="{business.pk}"' in html
    by_group = sales_client.get(url, {"name": "课程"}).content.decode()
    assert f'value="{business.pk}"' in by_group and f'value="{ielts.pk}"' not in by_group
    assert "No tag matches “火星”." in sales_client.get(url, {"name": "火星"}).content.decode()


def test_a_chip_says_its_group_colour_and_who_or_what_put_it_there(
    sales_client, tenant, sales, admin, make_tag
):
    contact = ContactFactory(tenant=tenant)
    by_hand, by_rule = make_tag("来源", "地推"), make_tag("意向", "高")
    by_hand.colour = "#7a5af8"
    by_hand.save()
    rule = Rule.objects.create(tenant=tenant, name="领价格表", event_kind="price_list_downloaded")
    contact_tag_add(contact=contact, tag=by_hand, actor=sales)
    contact_tag_add(contact=contact, tag=by_rule, actor=None, channel="rule", rule=rule)
    html = sales_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk])).content
    chips = html.decode().split('<li class="chip" ')[1:]
    assert len(chips) == 2  # in the groups' order, then by name
    hand, ruled = chips[::-1] if "地推" not in chips[0] else chips
    assert 'data-tag-colour="#7a5af8"' in hand
    assert f"Added by {sales.display_name} · By hand" in hand
    assert '<span class="muted">来源</span> 地推' in hand and 'aria-label="Remove 地推"' in hand
    group_colour = by_rule.group.colour
    assert f'data-tag-colour="{group_colour}"' in ruled
    assert "Added by rule: 领价格表 · Rule" in ruled
    imported = make_tag("行业", "制造业")
    contact_tag_add(contact=contact, tag=imported, actor=None, channel="import")
    html = sales_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk])).content
    assert 'title="Import · ' in html.decode()  # no one and no rule: no empty "Added by"


def test_the_list_shows_a_contacts_tags_in_the_order_its_page_does(
    sales_client, tenant, sales, make_tag
):
    contact = ContactFactory(tenant=tenant)
    source, intent = make_tag("来源", "地推"), make_tag("意向", "高")
    TagGroup.objects.filter(pk=intent.group_id).update(position=0)
    TagGroup.objects.filter(pk=source.group_id).update(position=1)
    for tag in (source, intent):  # added in the other order
        contact_tag_add(contact=contact, tag=tag, actor=sales)
    html = sales_client.get(reverse("contact_list", args=[tenant.slug])).content.decode()
    assert '<span class="badge">高</span> <span class="badge">地推</span>' in html
    page = sales_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk]))
    chips = page.content.decode()
    assert chips.index("</span> 高") < chips.index("</span> 地推")
