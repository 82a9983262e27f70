"""A link to a tag's contacts (the tags page's counts, the header search, a bookmark) whose tag was
deleted since says so, instead of silently showing nobody (any/all of it) or everybody (none of
it) (issue 20, item 7c)."""

import re

from django.urls import reverse

from tagging.services import contact_tag_add, tag_delete
from tests.factories import ContactFactory

GONE = "The tag this link filters by no longer exists"


def names_on(html: str, names) -> set[str]:
    return {name for name in names if name in html}


def test_a_link_to_a_deleted_tags_contacts_says_the_tag_is_gone(
    admin_client, tenant, admin, make_tag
):
    flyer = make_tag("来源", "地推传单")
    tagged = ContactFactory(tenant=tenant, name="陈静")
    ContactFactory(tenant=tenant, name="刘洋")
    contact_tag_add(contact=tagged, tag=flyer, actor=admin)
    url = reverse("contact_list", args=[tenant.slug])
    link = f"{url}?tag_any={flyer.pk}"
    html = admin_client.get(link).content.decode()
    assert GONE not in html and names_on(html, ["陈静", "刘洋"]) == {"陈静"}

    gone = flyer.pk
    tag_delete(tag=flyer, actor=admin)
    for param in ("tag_any", "tag_all", "tag_none"):
        html = admin_client.get(f"{url}?{param}={gone}").content.decode()
        assert f"{GONE} (it was deleted, or merged into another)" in html
        assert names_on(html, ["陈静", "刘洋"]) == {"陈静", "刘洋"}, param
        # what the list links to with its filters (the export here) no longer carries it
        (export,) = re.findall(r'href="[^"]*/export/\?([^"]*)"', html)[:1]
        assert f"{param}=" not in export
    # the list as htmx redraws it says so too
    partial = admin_client.get(f"{url}?tag_any={gone}", headers={"HX-Request": "true"})
    assert GONE in partial.content.decode()


def test_a_deleted_tag_beside_one_that_is_there_leaves_that_one_filtering(
    admin_client, tenant, admin, make_tag
):
    flyer, wechat = make_tag("来源", "地推传单"), make_tag("来源", "公众号")
    ContactFactory(tenant=tenant, name="陈静")
    contact_tag_add(contact=ContactFactory(tenant=tenant, name="刘洋"), tag=wechat, actor=admin)
    gone = flyer.pk
    tag_delete(tag=flyer, actor=admin)
    url = reverse("contact_list", args=[tenant.slug])
    html = admin_client.get(f"{url}?tag_any={gone}&tag_any={wechat.pk}").content.decode()
    assert GONE in html
    assert names_on(html, ["陈静", "刘洋"]) == {"刘洋"}
    html = admin_client.get(f"{url}?tag_any={gone}&tag_none={gone + 1000}").content.decode()
    assert "2 tags this link filters by no longer exist" in html


def test_another_companys_tag_in_a_link_is_no_tag_here(
    admin_client, tenant, other_tenant, make_tag
):
    theirs = make_tag("来源", "别家传单", on=other_tenant)
    ContactFactory(tenant=tenant, name="陈静")
    url = reverse("contact_list", args=[tenant.slug])
    html = admin_client.get(f"{url}?tag_none={theirs.pk}").content.decode()
    assert GONE in html and "别家传单" not in html


def test_a_link_to_a_tag_that_is_there_says_nothing_of_the_kind(
    admin_client, tenant, admin, make_tag
):
    flyer = make_tag("来源", "地推传单")
    url = reverse("contact_list", args=[tenant.slug])
    assert GONE not in admin_client.get(f"{url}?tag_none={flyer.pk}").content.decode()
    assert GONE not in admin_client.get(url).content.decode()
