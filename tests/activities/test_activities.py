"""A salesperson logs the calls, meetings, WeChat chats and visits of the day on the contact's
page, and reads them back in one timeline with the contact's moves and events."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from activities.selectors import Cursor, contact_timeline
from activities.services import activity_log
from crm.merges import contact_merge
from crm.services import ServiceError
from lifecycle.models import StageChange
from lifecycle.services import contact_stage_move
from tagging.models import ContactTag, Event, TagRemoval
from tagging.rules import event_log, rule_save
from tagging.services import contact_tag_add, contact_tag_remove, contacts_bulk_tag, tag_delete
from tests.factories import ContactFactory

HTMX = {"HX-Request": "true"}


def log_url(tenant, contact):
    return reverse("contact_activity_log", args=[tenant.slug, contact.pk])


def timeline_url(tenant, contact):
    return reverse("contact_timeline", args=[tenant.slug, contact.pk])


def test_a_salesperson_logs_a_wechat_chat_and_it_heads_the_history(
    sales_client, tenant, sales, contact
):
    page = sales_client.get(reverse("contact_detail", args=[tenant.slug, contact.pk]))
    assert "activity-kinds" in page.content.decode()  # the form is on the contact's page
    answer = sales_client.post(
        log_url(tenant, contact),
        {
            "activity-kind": "wechat",
            "activity-text": "问了周末班的价格",
            "activity-outcome": "有意向",
        },
        headers=HTMX,
    )
    assert answer.status_code == 200
    assert "contact-changed" in json.loads(answer["HX-Trigger"])  # the timeline reloads itself
    assert "已记录" in answer.content.decode() or "Logged" in answer.content.decode()
    (activity,) = Activity.objects.for_tenant(tenant).filter(contact=contact)
    assert (activity.kind, activity.text, activity.outcome, activity.author) == (
        "wechat", "问了周末班的价格", "有意向", sales,
    )  # fmt: skip
    assert timezone.now() - activity.occurred_at < timedelta(minutes=1)
    first = contact_timeline(contact=contact).entries[0]
    assert (first.kind, first.item, first.actor) == ("activity", activity, sales.display_name)
    body = sales_client.get(timeline_url(tenant, contact), headers=HTMX).content.decode()
    assert "问了周末班的价格" in body and "有意向" in body


def test_without_javascript_the_log_lands_and_the_page_comes_back(sales_client, tenant, contact):
    answer = sales_client.post(
        log_url(tenant, contact), {"activity-kind": "call", "activity-outcome": "未接通"}
    )
    assert answer.status_code == 302
    assert Activity.objects.for_tenant(tenant).get(contact=contact).outcome == "未接通"


def test_an_empty_log_is_refused_and_keeps_what_was_typed(sales_client, tenant, contact):
    answer = sales_client.post(
        log_url(tenant, contact),
        {
            "activity-kind": "visit",
            "activity-text": "  ",
            "activity-occurred_at": "2026-12-01T15:30",
        },
        headers=HTMX,
    )
    body = answer.content.decode()
    assert answer.status_code == 200 and 'role="alert"' in body
    assert 'value="visit" checked' in body and 'value="2026-12-01T15:30"' in body
    assert not Activity.objects.for_tenant(tenant).exists()


def test_a_time_still_to_come_is_refused(sales, contact):
    with pytest.raises(ServiceError):
        activity_log(contact=contact, actor=sales, kind="meeting", text="签约",
                     occurred_at=timezone.now() + timedelta(hours=2))  # fmt: skip
    assert not Activity.objects.for_tenant(contact.tenant).exists()


def test_a_visit_logged_afterwards_takes_its_place_in_time(sales_client, tenant, sales, contact):
    activity_log(contact=contact, actor=sales, kind="note", text="今天的备注")
    sales_client.post(
        log_url(tenant, contact),
        {
            "activity-kind": "visit",
            "activity-text": "上门",
            "activity-occurred_at": "2026-12-01T15:30",
        },
    )
    entries = contact_timeline(contact=contact).entries
    assert [e.item.text for e in entries if e.kind == "activity"] == ["今天的备注", "上门"]
    visit = entries[-1].item
    assert timezone.localtime(visit.occurred_at).strftime("%Y-%m-%d %H:%M") == "2026-12-01 15:30"


def test_only_who_logged_an_activity_removes_it(sales_client, admin_client, tenant, sales, contact):
    activity = activity_log(contact=contact, actor=sales, kind="call", text="回访")
    url = reverse("contact_activity_remove", args=[tenant.slug, contact.pk, activity.pk])
    admin_client.post(url)
    assert Activity.objects.for_tenant(tenant).filter(pk=activity.pk).exists()
    answer = sales_client.post(url, headers=HTMX)
    assert answer.status_code == 200 and "timeline-panel" in answer.content.decode()
    assert not Activity.objects.for_tenant(tenant).filter(pk=activity.pk).exists()


def test_another_companys_contact_and_activities_answer_404_and_nothing_changes(
    outsider_client, tenant, sales, contact
):
    activity = activity_log(contact=contact, actor=sales, kind="call", text="回访")
    posted = outsider_client.post(log_url(tenant, contact), {"activity-kind": "note",
                                                              "activity-text": "x"})  # fmt: skip
    removed = outsider_client.post(
        reverse("contact_activity_remove", args=[tenant.slug, contact.pk, activity.pk])
    )
    read = outsider_client.get(timeline_url(tenant, contact))
    assert (posted.status_code, removed.status_code, read.status_code) == (404, 404, 404)
    assert list(Activity.objects.for_tenant(tenant)) == [activity]


def test_an_activity_is_reached_only_through_its_own_contact(sales_client, tenant, sales, contact):
    activity = activity_log(contact=contact, actor=sales, kind="call", text="回访")
    other = ContactFactory(tenant=tenant)
    url = reverse("contact_activity_remove", args=[tenant.slug, other.pk, activity.pk])
    assert sales_client.post(url).status_code == 404
    assert Activity.objects.for_tenant(tenant).filter(pk=activity.pk).exists()


def everything_in(contact, shown="", limit=7) -> list[tuple[str, int]]:
    """The whole timeline, read page by page as the "Older" link does."""
    seen, after = [], None
    while True:
        page = contact_timeline(contact=contact, shown=shown, after=after, limit=limit)
        seen += [(entry.kind, entry.item.pk) for entry in page.entries]
        if page.more is None:
            return seen
        after = Cursor.parse(str(page.more))  # through the address, as the link carries it


def test_the_timeline_pages_back_in_time_without_gaps_or_repeats(tenant, sales, contact, make_tag):
    # many entries at the very same instant, of every source: the order must still be total
    same = timezone.now() - timedelta(days=1)
    for i in range(12):
        Activity.objects.create(tenant=tenant, contact=contact, kind="call", author=sales,
                                text=f"第{i}次", occurred_at=same)  # fmt: skip
        Event.objects.create(tenant=tenant, contact=contact, kind="trial_booked", occurred_at=same)
    for stage in ("lead", "mql", "sql"):
        contact_stage_move(contact=contact, actor=sales, to_stage=stage)
        contact.refresh_from_db()
    StageChange.objects.for_tenant(tenant).filter(contact=contact).update(created_at=same)
    tags = [make_tag("课程兴趣", label) for label in ("成人口语", "商务英语", "雅思")]
    for tag in tags:
        contact_tag_add(contact=contact, tag=tag, actor=sales)
    contact_tag_remove(contact=contact, tag=tags[0], actor=sales)
    ContactTag.objects.for_tenant(tenant).filter(contact=contact).update(created_at=same)
    TagRemoval.objects.for_tenant(tenant).update(added_at=same, removed_at=same)
    for i in range(5):
        activity_log(contact=contact, actor=sales, kind="note", text=f"备注{i}",
                     occurred_at=same + timedelta(minutes=i))  # fmt: skip
    whole = contact_timeline(contact=contact, limit=1000)
    assert whole.more is None and len(whole.entries) == 12 + 12 + 3 + 5 + 4
    paged = everything_in(contact)
    assert paged == [(entry.kind, entry.item.pk) for entry in whole.entries]
    assert len(set(paged)) == len(paged)
    times = [entry.at for entry in whole.entries]
    assert times == sorted(times, reverse=True)


def test_the_timeline_narrows_to_one_kind(tenant, sales, contact):
    activity_log(contact=contact, actor=sales, kind="call", text="电话")
    activity_log(contact=contact, actor=sales, kind="wechat", text="微信")
    event_log(contact=contact, actor=sales, kind="event_attended")
    contact_stage_move(contact=contact, actor=sales, to_stage="lead")
    texts = [item for kind, item in everything_in(contact, shown="wechat")]
    assert [Activity.objects.get(pk=pk).text for pk in texts] == ["微信"]
    assert {kind for kind, _pk in everything_in(contact, shown="activities")} == {"activity"}
    assert len(everything_in(contact, shown="activities")) == 2
    assert {kind for kind, _pk in everything_in(contact, shown="event")} == {"event"}
    assert {kind for kind, _pk in everything_in(contact, shown="stage")} == {"stage"}
    assert len(everything_in(contact, shown="no-such-kind")) == 4  # unknown: everything


def test_the_older_link_brings_the_next_page_only(sales_client, tenant, sales, contact):
    for i in range(25):  # a page is 20
        activity_log(contact=contact, actor=sales, kind="note", text=f"备注{i:02d}",
                     occurred_at=timezone.now() - timedelta(minutes=i))  # fmt: skip
    first = sales_client.get(timeline_url(tenant, contact), headers=HTMX).content.decode()
    assert "备注00" in first and "备注19" in first and "备注20" not in first
    cursor = contact_timeline(contact=contact).more
    older = sales_client.get(
        timeline_url(tenant, contact), {"after": str(cursor)}, headers=HTMX
    ).content.decode()
    assert "备注20" in older and "备注24" in older and "备注19" not in older
    assert 'id="timeline-panel"' not in older  # entries to append, not a second panel
    # a made-up cursor starts from the top rather than failing
    again = sales_client.get(timeline_url(tenant, contact), {"after": "yesterday~9~x"})
    assert again.status_code == 200 and "备注00" in again.content.decode()


def test_reading_the_timeline_costs_the_same_few_queries_however_long_it_is(
    sales_client, tenant, sales, contact
):
    def queries() -> int:
        cache.clear()  # the stage labels are kept after the first page: count them each time
        with CaptureQueriesContext(connection) as captured:
            assert sales_client.get(timeline_url(tenant, contact), headers=HTMX).status_code == 200
        return len(captured)

    activity_log(contact=contact, actor=sales, kind="note", text="一")
    event_log(contact=contact, actor=sales, kind="event_attended")
    few = queries()
    for i in range(40):
        activity_log(contact=contact, actor=sales, kind="call", text=f"电话{i}")
        event_log(contact=contact, actor=sales, kind="event_attended")
    assert queries() == few


def test_a_merge_keeps_what_was_said_with_the_merged_contact(tenant, admin, sales, contact):
    twin = ContactFactory(tenant=tenant, name="张伟", phone="13800138001")
    said = activity_log(contact=twin, actor=sales, kind="meeting", text="面谈过")
    contact_merge(survivor=contact, merged=twin, actor=admin, take_from_merged=set())
    said.refresh_from_db()
    assert said.contact_id == contact.pk


def tag_lines(contact, shown="tags") -> list[tuple[str, str, str | None, str]]:
    return [
        (entry.kind, entry.item.label, entry.actor, entry.item.channel)
        for entry in contact_timeline(contact=contact, shown=shown).entries
    ]


def test_the_history_says_who_put_a_tag_on_and_who_took_it_off(
    tenant, sales, marketer, contact, make_tag
):
    spoken = make_tag("课程兴趣", "成人口语")
    contact_tag_add(contact=contact, tag=spoken, actor=sales)
    contacts_bulk_tag(tenant=tenant, actor=marketer, contacts=[contact.pk], tag=spoken, add=False)
    removal = TagRemoval.objects.for_tenant(tenant).get(contact=contact)
    assert (removal.added_by, removal.added_channel, removal.removed_by, removal.channel) == (
        sales, "ui", marketer, "bulk",
    )  # fmt: skip
    taken_off, put_on = contact_timeline(contact=contact, shown="tags").entries
    assert (taken_off.kind, taken_off.item.label, taken_off.actor) == (
        "untagged", "成人口语", marketer.display_name,
    )  # fmt: skip
    # the assignment is gone, yet who put it on stays in the history
    assert (put_on.kind, put_on.item.label, put_on.actor) == (
        "tagged",
        "成人口语",
        sales.display_name,
    )
    assert not ContactTag.objects.for_tenant(tenant).filter(contact=contact).exists()


def test_a_tag_replaced_in_a_one_at_a_time_group_or_removed_by_a_rule_is_remembered(
    tenant, sales, contact, make_tag
):
    silver = make_tag("会员等级", "银卡", single_choice=True)
    gold = make_tag("会员等级", "金卡", single_choice=True)
    contact_tag_add(contact=contact, tag=silver, actor=sales)
    contact_tag_add(contact=contact, tag=gold, actor=sales)  # takes the place of 银卡
    rule_save(tenant=tenant, actor=None, name="体验", event_kind="trial_booked", remove_tags=[gold])
    event_log(contact=contact, actor=sales, kind="trial_booked")
    assert tag_lines(contact) == [
        ("untagged", "金卡", None, "rule"),  # the rule's doing
        ("tagged", "金卡", sales.display_name, "rule"),  # (taken off by the rule since)
        ("untagged", "银卡", sales.display_name, "ui"),  # replaced by 金卡
        ("tagged", "银卡", sales.display_name, "ui"),
    ]
    put_on = TagRemoval.objects.for_tenant(tenant).get(label="金卡")
    assert (put_on.added_channel, put_on.added_by) == ("ui", sales)


def test_a_deleted_tag_keeps_its_name_in_the_history(tenant, admin, sales, contact, make_tag):
    flyer = make_tag("来源", "地推传单")
    contact_tag_add(contact=contact, tag=flyer, actor=sales)
    tag_delete(tag=flyer, actor=admin)
    body = str(
        [(e.kind, e.item.label) for e in contact_timeline(contact=contact, shown="tags").entries]
    )
    assert body == str([("untagged", "地推传单"), ("tagged", "地推传单")])


def test_the_contact_page_names_tags_put_on_and_taken_off(
    sales_client, tenant, sales, contact, make_tag
):
    spoken = make_tag("课程兴趣", "成人口语")
    business = make_tag("课程兴趣", "商务英语")
    contact_tag_add(contact=contact, tag=spoken, actor=sales)
    contact_tag_add(contact=contact, tag=business, actor=sales)
    contact_tag_remove(contact=contact, tag=business, actor=sales)
    body = sales_client.get(timeline_url(tenant, contact), {"shown": "tags"}).content.decode()
    assert body.count("成人口语") == 1 and body.count("商务英语") == 2
    assert "timeline-untagged" in body and "timeline-tagged" in body
