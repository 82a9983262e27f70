"""Tags and tag groups over the API: listed with aliases and group, created and renamed by the
roles the tag settings page allows, another company's ids not found; and a contact tagged
with tags the company lacks, created when asked in the group the company chose."""

from django.urls import reverse

from integrations.models import ApiSettings
from integrations.services import api_settings_save
from tagging.models import ContactTag, Tag, TagGroup
from tagging.services import tag_alias_add
from tests.conftest import client_for
from tests.integrations.conftest import error_of


def test_tags_are_listed_with_group_colour_and_aliases(admin_api, make_tag, admin):
    tag = make_tag("来源", "地推")
    tag_alias_add(tag=tag, actor=None, name="地推传单")
    make_tag("意向", "高")
    items = {tag["label"]: tag for tag in admin_api.get("/tags").json()["items"]}
    assert items["地推"] == {
        "id": tag.pk, "key": "地推", "label": "地推", "colour": "#667085", "description": "",
        "group": {"id": tag.group_id, "key": "来源", "label": "来源"}, "aliases": ["地推传单"],
    }  # fmt: skip
    assert items["高"]["aliases"] == [] and items["高"]["group"]["label"] == "意向"
    groups = {g["label"]: g for g in admin_api.get("/tag-groups").json()["items"]}
    assert [t["label"] for t in groups["来源"]["tags"]] == ["地推"]
    assert groups["来源"]["tags"][0]["aliases"] == ["地推传单"]
    assert [t["label"] for t in groups["意向"]["tags"]] == ["高"]


def test_a_marketer_creates_a_group_and_a_tag_with_aliases(marketer_api, tenant):
    made = marketer_api.post("/tag-groups", {"label": "渠道", "colour": "#2e90fa"})
    assert made.status_code == 201, made.content
    assert made.json()["label"] == "渠道" and made.json()["tags"] == []
    response = marketer_api.post(
        "/tags", {"label": "抖音", "group": "渠道", "aliases": ["douyin", "TikTok"]}
    )
    assert response.status_code == 201, response.content
    tag = response.json()
    assert tag["label"] == "抖音" and tag["group"]["label"] == "渠道"
    assert sorted(tag["aliases"]) == ["TikTok", "douyin"]
    assert tag["colour"] == "#2e90fa"  # its group's
    by_key = marketer_api.post("/tags", {"label": "小红书", "group": made.json()["key"]})
    assert by_key.status_code == 201


def test_a_name_taken_by_a_tag_or_an_alias_is_refused_and_nothing_is_made(admin_api, make_tag):
    tag = make_tag("来源", "地推")
    tag_alias_add(tag=tag, actor=None, name="传单")
    for label in ("地推", " 传单 "):
        response = admin_api.post("/tags", {"label": label, "group": "来源"})
        assert response.status_code == 400
        assert "地推" in error_of(response)["message"]
    response = admin_api.post("/tags", {"label": "新", "group": "没有这个组"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "There is no tag group “没有这个组”."
    assert Tag.objects.count() == 1


def test_renaming_a_tag_and_a_group_keeps_the_key_and_the_contacts(admin_api, make_tag, contact):
    tag = make_tag("来源", "地推")
    ContactTag.objects.create(tenant=contact.tenant, contact=contact, tag=tag)
    response = admin_api.patch(f"/tags/{tag.pk}", {"label": "线下地推"})
    assert response.status_code == 200, response.content
    assert response.json()["label"] == "线下地推" and response.json()["key"] == "地推"
    group = admin_api.patch(f"/tag-groups/{tag.group_id}", {"label": "获客来源"})
    assert group.json()["label"] == "获客来源" and group.json()["key"] == "来源"
    assert admin_api.get(f"/contacts/{contact.pk}").json()["tags"] == ["线下地推"]
    moved = admin_api.post("/tag-groups", {"label": "线下"}).json()
    response = admin_api.patch(f"/tags/{tag.pk}", {"group": moved["key"]})
    assert response.json()["group"]["id"] == moved["id"]
    assert response.json()["label"] == "线下地推"


def test_a_salesperson_may_list_but_not_change_the_tags(sales_api, make_tag):
    tag = make_tag("来源", "地推")
    assert sales_api.get("/tags").status_code == 200
    refusals = [
        sales_api.post("/tags", {"label": "新", "group": "来源"}),
        sales_api.patch(f"/tags/{tag.pk}", {"label": "改"}),
        sales_api.post("/tag-groups", {"label": "新组"}),
        sales_api.patch(f"/tag-groups/{tag.group_id}", {"label": "改"}),
    ]
    assert [r.status_code for r in refusals] == [403] * 4
    assert {error_of(r)["code"] for r in refusals} == {"forbidden"}
    tag.refresh_from_db()
    assert tag.label == "地推" and tag.group.label == "来源"
    assert Tag.objects.count() == 1 and TagGroup.objects.count() == 1


def test_another_companys_tags_and_groups_are_not_found(admin_api, outsider, make_tag):
    theirs = make_tag("来源", "他们的", on=outsider.tenant)
    for response in (
        admin_api.get(f"/tags/{theirs.pk}"),
        admin_api.patch(f"/tags/{theirs.pk}", {"label": "x"}),
        admin_api.get(f"/tag-groups/{theirs.group_id}"),
        admin_api.patch(f"/tag-groups/{theirs.group_id}", {"label": "x"}),
        admin_api.get(f"/tags/{2**70}"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert admin_api.get("/tags").json()["items"] == []
    theirs.refresh_from_db()
    assert theirs.label == "他们的" and theirs.group.label == "来源"
    # nor may a tag be put in their group by its name
    response = admin_api.post("/tags", {"label": "x", "group": "来源"})
    assert response.status_code == 400 and not Tag.objects.filter(label="x").exists()


# --- tagging a contact with tags the company lacks -----------------------------------------


def test_an_unknown_tag_without_create_missing_is_a_400_naming_it(admin_api, contact, make_tag):
    make_tag("来源", "地推")
    response = admin_api.post(f"/contacts/{contact.pk}/tags", {"tags": ["地推", "抖音"]})
    assert response.status_code == 400
    assert error_of(response)["message"] == "There is no tag or alias “抖音”."
    assert not ContactTag.objects.filter(contact=contact).exists()


def test_create_missing_without_a_chosen_group_says_where_to_choose_one(admin_api, contact):
    response = admin_api.post(
        f"/contacts/{contact.pk}/tags", {"tags": ["抖音"], "create_missing": True}
    )
    assert response.status_code == 400
    assert "Settings → API and webhooks" in error_of(response)["message"]
    assert not Tag.objects.exists()


def test_create_missing_creates_unknown_tags_in_the_chosen_group(
    admin_api, admin, contact, make_tag
):
    known = make_tag("来源", "地推")
    tag_alias_add(tag=known, actor=None, name="传单")
    group = TagGroup.objects.create(tenant=admin.tenant, key="api", label="接口新建")
    api_settings_save(tenant=admin.tenant, actor=admin, new_tag_group=group)
    response = admin_api.post(
        f"/contacts/{contact.pk}/tags",
        {"tags": ["传单", "抖音", " 抖音 ", "小红书"], "create_missing": True},
    )
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == sorted(["地推", "抖音", "小红书"])
    made = Tag.objects.filter(group=group).order_by("label")
    assert [t.label for t in made] == ["小红书", "抖音"]
    assert set(ContactTag.objects.filter(contact=contact).values_list("channel", flat=True)) == {
        "api"
    }
    # asked again, nothing new is made
    again = admin_api.post(
        f"/contacts/{contact.pk}/tags", {"tags": ["抖音"], "create_missing": True}
    )
    assert again.status_code == 200 and Tag.objects.count() == 3


def test_a_salesperson_cannot_create_tags_through_create_missing(
    sales_api, admin, contact, make_tag
):
    make_tag("来源", "地推")
    group = TagGroup.objects.get(label="来源")
    api_settings_save(tenant=admin.tenant, actor=admin, new_tag_group=group)
    response = sales_api.post(
        f"/contacts/{contact.pk}/tags", {"tags": ["地推", "抖音"], "create_missing": True}
    )
    assert response.status_code == 403
    assert "抖音" in error_of(response)["message"]
    assert Tag.objects.count() == 1
    assert not ContactTag.objects.filter(contact=contact).exists()
    # tags that exist, they may put on
    ok = sales_api.post(f"/contacts/{contact.pk}/tags", {"tags": ["地推"], "create_missing": True})
    assert ok.status_code == 200 and ok.json()["tags"] == ["地推"]


# --- the setting, on the API settings page --------------------------------------------------


def test_an_admin_chooses_the_group_on_the_api_settings_page(admin_client, tenant, make_tag):
    group = make_tag("来源", "地推").group
    page = admin_client.get(reverse("api_settings", args=[tenant.slug]))
    assert "Tags created over the API go into" in page.content.decode()
    response = admin_client.post(
        reverse("api_options_save", args=[tenant.slug]), {"new_tag_group": group.pk}
    )
    assert response.status_code == 302
    assert ApiSettings.objects.get(tenant=tenant).new_tag_group == group
    admin_client.post(reverse("api_options_save", args=[tenant.slug]), {"new_tag_group": ""})
    assert ApiSettings.objects.get(tenant=tenant).new_tag_group is None


def test_the_setting_is_for_admins_and_their_own_groups_only(
    marketer_client, admin_client, tenant, make_tag, outsider
):
    theirs = make_tag("来源", "x", on=outsider.tenant).group
    response = marketer_client.post(
        reverse("api_options_save", args=[tenant.slug]), {"new_tag_group": theirs.pk}
    )
    assert response.status_code == 403
    response = admin_client.post(
        reverse("api_options_save", args=[tenant.slug]), {"new_tag_group": theirs.pk}
    )
    assert response.status_code == 400
    assert not ApiSettings.objects.exists()


def test_the_setting_form_needs_csrf(admin, tenant, make_tag):
    client = client_for(admin, enforce_csrf_checks=True)
    group = make_tag("来源", "地推").group
    response = client.post(
        reverse("api_options_save", args=[tenant.slug]), {"new_tag_group": group.pk}
    )
    assert response.status_code == 403
    assert not ApiSettings.objects.exists()
