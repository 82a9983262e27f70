"""A marketer merging two tags is first told what the merge will do (how many contacts, rules and
audiences it touches), and nothing happens until they confirm; audiences that named the old tag
keep their meaning by naming the one that stays."""

import re

from django.urls import reverse

from audiences.models import AudienceMember
from audiences.services import audience_recompute, audience_save
from crm.models import SavedView
from tagging.models import Rule, Tag
from tagging.services import contact_tag_add, tag_alias_add
from tests.conftest import client_for
from tests.factories import ContactFactory


def merge_url(tenant, tag) -> str:
    return reverse("tag_merge", args=[tenant.slug, tag.pk])


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


def test_the_merge_asks_first_with_what_it_will_do(marketer_client, tenant, marketer, make_tag):
    keep, old = make_tag("来源", "线下活动"), make_tag("来源", "地推活动")
    tag_alias_add(tag=old, actor=marketer, name="发传单")
    both, only_old = ContactFactory(tenant=tenant), ContactFactory(tenant=tenant)
    ContactFactory(tenant=tenant)  # holds neither
    for contact, tags in ((both, [keep, old]), (only_old, [old])):
        for tag in tags:
            contact_tag_add(contact=contact, tag=tag, actor=marketer)
    rule = Rule.objects.create(tenant=tenant, name="试听后", event_kind="event_attended")
    rule.add_tags.add(old)
    audience_save(tenant=tenant, actor=marketer, name="地推来的", gate="at_or_past",
                  stages=["subscriber"], tag_any=[old.pk])  # fmt: skip
    audience_save(tenant=tenant, actor=marketer, name="不要地推", gate="at_or_past",
                  stages=["subscriber"], tag_none=[old.pk, keep.pk])  # fmt: skip
    audience_save(tenant=tenant, actor=marketer, name="别的", gate="at_or_past",
                  stages=["subscriber"], tag_any=[keep.pk])  # fmt: skip
    SavedView.objects.create(tenant=tenant, owner=marketer, name="地推来的",
                             params={"tag_any": [str(old.pk)]})  # fmt: skip

    # the tag page's "Merge…" sends the chosen target by GET: the page that asks
    response = marketer_client.get(merge_url(tenant, old), {"target": keep.pk})

    assert response.status_code == 200
    text = page_text(response)
    assert "Merge “地推活动” into “线下活动”?" in text
    assert "2 contacts carry “地推活动”." in text
    assert "1 of them carry “线下活动” already; 1 gets it now." in text
    assert "Afterwards 2 contacts carry “线下活动”." in text
    assert "Its 1 alias moves too." in text
    assert "1 rule that uses “地推活动” will use “线下活动”." in text
    assert "2 audiences that use “地推活动” will use “线下活动”." in text
    assert "1 saved view that filters by “地推活动” will filter by “线下活动”." in text
    assert 'name="confirm" value="yes"' in text
    # nothing happened yet
    assert Tag.objects.for_tenant(tenant).filter(pk=old.pk).exists()


def test_nothing_is_merged_until_it_is_confirmed(marketer_client, tenant, marketer, make_tag):
    keep, old = make_tag("来源", "A"), make_tag("来源", "B")
    contact_tag_add(contact=ContactFactory(tenant=tenant), tag=old, actor=marketer)

    unconfirmed = marketer_client.post(merge_url(tenant, old), {"target": keep.pk})

    assert unconfirmed.status_code == 200  # the question again, not a merge
    assert "Merge “B” into “A”?" in page_text(unconfirmed)
    assert Tag.objects.for_tenant(tenant).filter(pk=old.pk).exists()

    marketer_client.post(merge_url(tenant, old), {"target": keep.pk, "confirm": "yes"})

    assert not Tag.objects.for_tenant(tenant).filter(pk=old.pk).exists()


def test_an_audience_built_on_the_old_tag_keeps_its_people(
    marketer_client, tenant, marketer, make_tag
):
    keep, old = make_tag("来源", "线下活动"), make_tag("来源", "地推活动")
    flyer, fair = ContactFactory(tenant=tenant, name="发传单来的"), ContactFactory(tenant=tenant)
    contact_tag_add(contact=flyer, tag=old, actor=marketer)
    contact_tag_add(contact=fair, tag=keep, actor=marketer)
    audience = audience_save(tenant=tenant, actor=marketer, name="地推来的",
                             gate="at_or_past", stages=["subscriber"],
                             tag_all=[old.pk], tag_none=[keep.pk])  # fmt: skip
    audience_recompute(audience=audience)

    marketer_client.post(merge_url(tenant, old), {"target": keep.pk, "confirm": "yes"})

    audience.refresh_from_db()
    # it names the tag that stays, in each list once: the merge made them one tag
    assert (audience.tag_all, audience.tag_none) == ([keep.pk], [keep.pk])
    assert audience.computed_snapshot == ""  # computed afresh
    audience_recompute(audience=audience)
    members = AudienceMember.objects.for_tenant(tenant).filter(audience=audience)
    assert not members.exists()  # all of it and none of it: nobody, as the merge means


def test_a_saved_view_filtering_by_the_old_tag_filters_by_the_one_that_stays(
    marketer_client, tenant, marketer, sales, make_tag
):
    keep, old, other = (
        make_tag("来源", "线下活动"),
        make_tag("来源", "地推活动"),
        make_tag("兴趣", "雅思"),
    )
    mine = SavedView.objects.create(
        tenant=tenant, owner=sales, name="本周地推",
        params={"stage": ["lead"], "tag_any": [str(old.pk), str(keep.pk)],
                "tag_none": [str(other.pk)]},
    )  # fmt: skip

    marketer_client.post(merge_url(tenant, old), {"target": keep.pk, "confirm": "yes"})

    mine.refresh_from_db()  # a colleague's private view follows too: it would lose the filter
    assert mine.params == {"stage": ["lead"], "tag_any": [str(keep.pk)],
                           "tag_none": [str(other.pk)]}  # fmt: skip


def test_a_merge_that_would_drop_a_tag_is_refused_before_it_is_confirmed(
    marketer_client, tenant, marketer, make_tag
):
    target = make_tag("年级", "三年级", single_choice=True)
    other = make_tag("年级", "四年级", single_choice=True)
    old = make_tag("旧年级", "小三")
    contact = ContactFactory(tenant=tenant)
    contact_tag_add(contact=contact, tag=old, actor=marketer)
    contact_tag_add(contact=contact, tag=other, actor=marketer)

    response = marketer_client.get(merge_url(tenant, old), {"target": target.pk})

    text = page_text(response)
    assert "1 contact with “小三” also holds another tag of “年级”" in text
    assert 'name="confirm"' not in text  # no button to merge anyway


def test_sales_see_no_merge_question(sales_client, tenant, make_tag):
    keep, old = make_tag("来源", "A"), make_tag("来源", "B")
    response = sales_client.get(merge_url(tenant, old), {"target": keep.pk})
    assert response.status_code == 403


def test_the_question_is_asked_in_chinese_too(tenant, marketer, make_tag):
    keep, old = make_tag("来源", "线下活动"), make_tag("来源", "地推活动")
    contact_tag_add(contact=ContactFactory(tenant=tenant), tag=old, actor=marketer)
    marketer.user.language = "zh-hans"
    marketer.user.save(update_fields=["language"])
    text = page_text(client_for(marketer).get(merge_url(tenant, old), {"target": keep.pk}))
    assert "把“地推活动”合并到“线下活动”？" in text


def test_the_chinese_question_puts_no_space_between_its_sentences(tenant, marketer, make_tag):
    """Each sentence stands on its own line: joined in one, the template's line break showed as
    an English space between Chinese sentences ("…带有“地推活动”。 其中…")."""
    keep, old = make_tag("来源", "线下活动"), make_tag("来源", "地推活动")
    tag_alias_add(tag=old, actor=marketer, name="发传单")
    both, only_old = ContactFactory(tenant=tenant), ContactFactory(tenant=tenant)
    for contact, tags in ((both, [keep, old]), (only_old, [old])):
        for tag in tags:
            contact_tag_add(contact=contact, tag=tag, actor=marketer)
    marketer.user.language = "zh-hans"
    marketer.user.save(update_fields=["language"])

    html = client_for(marketer).get(merge_url(tenant, old), {"target": keep.pk}).content.decode()

    counts = re.search(r'<ul class="merge-counts">(.*?)</ul>', html, re.S).group(1)
    items = [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", counts, re.S)]
    assert items == [
        "2 位联系人带有“地推活动”。",
        "其中 1 位已带有“线下活动”；1 位将新加上它。",
        "合并后共有 2 位联系人带有“线下活动”。",
        "“地推活动”将被删除，成为“线下活动”的别名：导入、筛选和搜索仍能按这个名称找到它。",
        "它的 1 个别名也一并转移。",
    ]


def test_the_merge_page_opened_without_a_target_offers_the_choice_without_an_error(
    marketer_client, tenant, make_tag
):
    keep, old = make_tag("来源", "线下活动"), make_tag("来源", "地推活动")

    response = marketer_client.get(merge_url(tenant, old))

    assert response.status_code == 200
    text = page_text(response)
    assert "Merge “地推活动” into another tag" in text
    assert f'<option value="{keep.pk}"' in text and f'<option value="{old.pk}"' not in text
    assert "This field is required." not in text
    assert 'name="confirm"' not in text
    # choosing one and pressing "Merge…" still asks first
    chosen = marketer_client.get(merge_url(tenant, old), {"target": keep.pk})
    assert "Merge “地推活动” into “线下活动”?" in page_text(chosen)


def test_an_empty_choice_sent_says_what_is_missing(marketer_client, tenant, make_tag):
    make_tag("来源", "线下活动")
    old = make_tag("来源", "地推活动")

    response = marketer_client.get(merge_url(tenant, old), {"target": ""}, follow=True)

    assert "Merge into: This field is required." in page_text(response)
