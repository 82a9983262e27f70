"""Two records of one person become one, and nothing either of them held is lost."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, Task
from activities.services import activity_log, task_create
from crm import customfields
from crm.consent import GRANTED, UNKNOWN, consent_grant, consent_states
from crm.merges import contact_merge, likely_duplicates
from crm.models import (
    AuditEntry,
    AuditKind,
    Consent,
    Contact,
    ContactCustomValue,
    ContactMerge,
    CustomField,
)
from crm.services import ContactData, NotAllowed
from lifecycle.analytics import funnel_stats_compute
from lifecycle.models import StageChange
from lifecycle.services import contact_create_at_stage, contact_stage_move
from tagging.models import ContactTag, Event
from tagging.rules import event_log
from tagging.services import contact_tag_add
from tests.factories import ContactFactory


def test_likely_duplicates_share_a_name_or_a_written_differently_channel(tenant, other_tenant):
    wang = ContactFactory(tenant=tenant, name="王芳", phone="13800138000", email="wf@qq.com")
    same_name = ContactFactory(tenant=tenant, name="王芳", phone="13900000000")
    same_phone_end = ContactFactory(tenant=tenant, name="Fang", phone="8613800138000")
    same_email_name = ContactFactory(tenant=tenant, name="F.W.", phone="", email="wf@163.com")
    ContactFactory(tenant=tenant, name="别人", phone="13711112222")
    ContactFactory(tenant=other_tenant, name="王芳", phone="13800138001")
    found = set(likely_duplicates(contact=wang))
    assert found == {same_name, same_phone_end, same_email_name}


def test_a_merge_keeps_chosen_fields_tags_events_history_and_the_furthest_stage(
    tenant, admin, sales, make_tag
):
    kept = ContactFactory(tenant=tenant, name="王芳", phone="13800138000", company="")
    gone = ContactFactory(tenant=tenant, name="王芳(微信)", phone="", email="wf@qq.com",
                          wechat_id="wangfang", company="腾飞科技")  # fmt: skip
    contact_stage_move(contact=gone, actor=sales, to_stage="customer")
    contact_stage_move(contact=gone, actor=sales, to_stage="sql", reason="退款")
    spoken = make_tag("课程兴趣", "成人口语")
    contact_tag_add(contact=gone, tag=spoken, actor=sales)
    event_log(contact=gone, actor=sales, kind="trial_booked")

    result = contact_merge(survivor=kept, merged=gone, actor=admin, take_from_merged={"company"})

    assert not Contact.objects.for_tenant(tenant).filter(pk=gone.pk).exists()
    assert (result.name, result.phone, result.email, result.wechat_id, result.company) == (
        "王芳", "13800138000", "wf@qq.com", "wangfang", "腾飞科技",
    )  # fmt: skip
    assert result.stage == "sql" and result.furthest_stage == "customer"
    assert ContactTag.objects.for_tenant(tenant).get().contact_id == kept.pk
    assert Event.objects.for_tenant(tenant).get().contact_id == kept.pk
    moves = StageChange.objects.for_tenant(tenant).filter(contact=kept)
    assert moves.count() == 3  # the two of the merged contact, and the survivor's move to SQL
    audit = ContactMerge.objects.for_tenant(tenant).get()
    assert (audit.survivor, audit.merged_name, audit.actor) == (kept, "王芳(微信)", admin)
    assert audit.merged_data["company"] == "腾飞科技"


def test_merging_from_the_pages(sales_client, tenant):
    kept = ContactFactory(tenant=tenant, name="李娜", phone="13900000001", wechat_id="lina88")
    gone = ContactFactory(tenant=tenant, name="Lina", phone="", email="lina@qq.com",
                          wechat_id="LiNa88")  # fmt: skip
    namesake = ContactFactory(tenant=tenant, name="李娜", phone="13700000002")
    page = sales_client.get(reverse("contact_duplicates", args=[tenant.slug, kept.pk]))
    html = page.content.decode()
    assert reverse("contact_merge", args=[tenant.slug, kept.pk, gone.pk]) in html
    assert namesake.phone in html  # listed, for an admin to judge
    assert reverse("contact_merge", args=[tenant.slug, kept.pk, namesake.pk]) not in html
    response = sales_client.post(
        reverse("contact_merge", args=[tenant.slug, kept.pk, gone.pk]), {"name": "keep"},
        follow=True,
    )  # fmt: skip
    assert "was merged into" in response.content.decode()
    assert Contact.objects.for_tenant(tenant).get(pk=kept.pk).email == "lina@qq.com"


def test_a_contact_cannot_be_merged_with_itself(sales_client, tenant):
    contact = ContactFactory(tenant=tenant)
    url = reverse("contact_merge", args=[tenant.slug, contact.pk, contact.pk])
    assert sales_client.get(url).status_code == 404


# --- who may merge, and what a merge does to the history ------------------------------------


def _everything(tenant) -> dict:
    """All a merge could touch in a company, as plain values."""
    return {
        "contacts": list(Contact.objects.for_tenant(tenant).order_by("pk").values()),
        "tags": list(ContactTag.objects.for_tenant(tenant).order_by("pk").values()),
        "events": list(Event.objects.for_tenant(tenant).order_by("pk").values()),
        "history": list(StageChange.objects.for_tenant(tenant).order_by("pk").values()),
        "merges": list(ContactMerge.objects.for_tenant(tenant).values_list("pk", flat=True)),
        "audit": list(AuditEntry.objects.for_tenant(tenant).values_list("pk", flat=True)),
    }


def _with_history(contact: Contact, actor, tag) -> Contact:
    contact_stage_move(contact=contact, actor=actor, to_stage="lead")
    contact_tag_add(contact=contact, tag=tag, actor=actor)
    event_log(contact=contact, actor=actor, kind="trial_booked")
    return contact


@pytest.fixture
def people(tenant, sales, make_tag):
    """A contact, a likely duplicate of it (the same phone written with the country code) and
    a stranger, each with a move, a tag and an event."""
    tag = make_tag("课程兴趣", "成人口语")

    def make(**fields) -> Contact:
        return _with_history(ContactFactory(tenant=tenant, **fields), sales, tag)

    return (
        make(name="陈静", phone="13811112222", email="chenjing@qq.com"),
        make(name="Jing Chen", phone="8613811112222", email="jing.chen@163.com"),
        make(name="刘洋", phone="13933334444", email="liuyang@163.com"),
    )


def _merge_url(tenant, kept, gone) -> str:
    return reverse("contact_merge", args=[tenant.slug, kept.pk, gone.pk])


def test_marketer_cannot_merge(tenant, marketer, marketer_client, people):
    kept, twin, _stranger = people
    before = _everything(tenant)
    with pytest.raises(NotAllowed, match="Only admins and sales staff may merge contacts."):
        contact_merge(survivor=kept, merged=twin, actor=marketer, take_from_merged=set())
    duplicates = marketer_client.get(reverse("contact_duplicates", args=[tenant.slug, kept.pk]))
    assert twin.name in duplicates.content.decode()
    assert _merge_url(tenant, kept, twin) not in duplicates.content.decode()
    page = marketer_client.get(_merge_url(tenant, kept, twin))
    assert page.status_code == 403 and 'type="submit"' not in page.content.decode()
    response = marketer_client.post(_merge_url(tenant, kept, twin), {"name": "other"})
    assert response.status_code == 403
    assert "Only admins and sales staff may merge contacts." in response.content.decode()
    assert _everything(tenant) == before


def test_sales_merges_likely_duplicates_only(tenant, sales, sales_client, people):
    kept, twin, stranger = people
    before = _everything(tenant)
    with pytest.raises(NotAllowed, match="only two contacts that share a phone"):
        contact_merge(survivor=kept, merged=stranger, actor=sales, take_from_merged=set())
    assert sales_client.get(_merge_url(tenant, kept, stranger)).status_code == 403
    response = sales_client.post(_merge_url(tenant, kept, stranger), {"name": "other"})
    assert response.status_code == 403
    assert "Ask an admin to merge these two." in response.content.decode()
    assert _everything(tenant) == before

    response = sales_client.post(_merge_url(tenant, kept, twin), {"name": "keep"})
    assert response.status_code == 302
    assert set(Contact.objects.for_tenant(tenant)) == {kept, stranger}
    entry = AuditEntry.objects.for_tenant(tenant).get()
    assert (entry.kind, entry.actor) == (AuditKind.CONTACTS_MERGED, sales)


def test_sales_merge_is_checked_on_the_stored_contacts(tenant, sales, people):
    kept, _twin, stranger = people
    before = _everything(tenant)
    stranger.name = kept.name  # what a stale or forged page might claim; never saved
    with pytest.raises(NotAllowed):
        contact_merge(survivor=kept, merged=stranger, actor=sales, take_from_merged=set())
    assert _everything(tenant) == before


def test_sales_may_merge_a_duplicate_listed_past_the_first_few(tenant, sales):
    kept = ContactFactory(tenant=tenant, name="张伟", wechat_id="zhangwei88")
    oldest = ContactFactory(tenant=tenant, name="张伟", wechat_id="ZhangWei88")
    ContactFactory.create_batch(10, tenant=tenant, name="张伟")
    long_ago = timezone.now() - timedelta(days=365)
    Contact.objects.for_tenant(tenant).filter(pk=oldest.pk).update(updated_at=long_ago)
    assert oldest not in likely_duplicates(contact=kept)  # the page shows ten
    contact_merge(survivor=kept, merged=oldest, actor=sales, take_from_merged=set())
    assert not Contact.objects.for_tenant(tenant).filter(pk=oldest.pk).exists()


def test_sales_cannot_merge_two_people_who_only_share_a_name(tenant, sales):
    """Two different 王伟 are listed on the duplicates page for an admin to judge; a shared
    name alone does not let sales staff remove one of them."""
    first = ContactFactory(tenant=tenant, name="王伟", phone="13800000001")
    second = ContactFactory(tenant=tenant, name="王伟", phone="13900000002")
    assert second in likely_duplicates(contact=first)
    before = _everything(tenant)
    with pytest.raises(NotAllowed):
        contact_merge(survivor=first, merged=second, actor=sales, take_from_merged=set())
    assert _everything(tenant) == before


def test_admin_merges_any_two_contacts(tenant, admin, people):
    kept, _twin, stranger = people
    stranger_pk = stranger.pk
    result = contact_merge(survivor=kept, merged=stranger, actor=admin, take_from_merged={"name"})
    assert result.name == "刘洋"
    assert not Contact.objects.for_tenant(tenant).filter(pk=stranger_pk).exists()
    entry = AuditEntry.objects.for_tenant(tenant).get()
    assert (entry.kind, entry.actor, entry.subject, entry.details) == (
        AuditKind.CONTACTS_MERGED, admin, "刘洋",
        {"kept": kept.pk, "merged": stranger_pk, "merged_name": "刘洋"},
    )  # fmt: skip


def test_a_member_of_another_company_cannot_merge_this_ones_contacts(tenant, outsider, people):
    kept, twin, _stranger = people
    before = _everything(tenant)
    with pytest.raises(NotAllowed):
        contact_merge(survivor=kept, merged=twin, actor=outsider, take_from_merged=set())
    assert _everything(tenant) == before


def test_a_refused_merge_is_explained_in_the_users_language(tenant, sales, sales_client, people):
    kept, _twin, stranger = people
    sales.user.language = "zh-hans"
    sales.user.save()
    response = sales_client.post(_merge_url(tenant, kept, stranger), {"name": "keep"})
    assert response.status_code == 403
    assert "销售人员只能合并手机号、邮箱或微信号相同的两个联系人。" in response.content.decode()


def test_merging_with_another_companys_contact_is_404_and_changes_nothing(
    admin_client, outsider_client, tenant, other_tenant, contact, foreign_contact
):
    before, before_there = _everything(tenant), _everything(other_tenant)
    for kept, gone in ((contact, foreign_contact), (foreign_contact, contact)):
        url = _merge_url(tenant, kept, gone)
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url, {"name": "other"}).status_code == 404
    assert (
        outsider_client.post(_merge_url(other_tenant, foreign_contact, contact)).status_code == 404
    )
    assert outsider_client.post(_merge_url(tenant, contact, contact)).status_code == 404
    assert (_everything(tenant), _everything(other_tenant)) == (before, before_there)


def test_survivor_history_is_one_chain_after_merge(tenant, sales, sales_client):
    kept = ContactFactory(tenant=tenant, name="孙丽", phone="13766667777")
    gone = ContactFactory(tenant=tenant, name="孙丽(微信)", phone="8613766667777")
    contact_stage_move(contact=kept, actor=sales, to_stage="lead")
    contact_stage_move(contact=gone, actor=sales, to_stage="mql")
    contact_stage_move(contact=kept, actor=sales, to_stage="mql")  # the two interleave in time
    contact_stage_move(contact=gone, actor=sales, to_stage="customer")
    gone_pk = gone.pk
    gone_moves = set(StageChange.objects.for_tenant(tenant).filter(contact=gone).values_list("pk"))

    result = contact_merge(survivor=kept, merged=gone, actor=sales, take_from_merged=set())

    history = StageChange.objects.for_tenant(tenant).filter(contact=result)
    own = history.filter(merged_from_id__isnull=True).order_by("created_at", "pk")
    assert result.stage_version == own.count() == 3
    assert list(own.values_list("from_stage", "to_stage")) == [
        ("subscriber", "lead"), ("lead", "mql"), ("mql", "customer"),  # the last: the merge's
    ]  # fmt: skip
    brought = history.exclude(merged_from_id__isnull=True)
    assert set(brought.values_list("pk")) == gone_moves  # kept, none deleted
    assert set(brought.values_list("merged_from_id", "merged_from_name")) == {
        (gone_pk, "孙丽(微信)")
    }
    timeline = sales_client.get(reverse("contact_timeline", args=[tenant.slug, kept.pk]))
    assert timeline.content.decode().count("merged from 孙丽(微信)") == 2


def test_moves_merged_twice_keep_the_name_they_came_from(tenant, admin):
    first = ContactFactory(tenant=tenant, name="甲")
    second = ContactFactory(tenant=tenant, name="乙")
    last = ContactFactory(tenant=tenant, name="丙")
    contact_stage_move(contact=first, actor=admin, to_stage="lead")
    contact_stage_move(contact=second, actor=admin, to_stage="mql")
    contact_merge(survivor=second, merged=first, actor=admin, take_from_merged=set())
    contact_merge(survivor=last, merged=second, actor=admin, take_from_merged=set())
    history = StageChange.objects.for_tenant(tenant).filter(contact=last)
    assert sorted(history.values_list("merged_from_name", "to_stage")) == [
        ("", "mql"), ("乙", "mql"), ("甲", "lead"),
    ]  # fmt: skip
    last.refresh_from_db()
    assert last.stage_version == history.filter(merged_from_id__isnull=True).count() == 1


def test_merge_counts_each_move_once_in_analytics(tenant, admin, sales):
    kept = ContactFactory(tenant=tenant, name="周敏", phone="13755556666")
    gone = ContactFactory(tenant=tenant, name="周敏(表单)", phone="", email="zm@qq.com")
    contact_stage_move(contact=gone, actor=sales, to_stage="lead")
    contact_stage_move(contact=gone, actor=sales, to_stage="mql")

    def figures() -> tuple[dict, dict, int]:
        stats = funnel_stats_compute(tenant=tenant, contacts=Contact.objects.for_tenant(tenant))
        spans = {stage: row["n"] for stage, row in stats["time_in_stage"].items()}
        return spans, stats["reached"], stats["contacts"]

    spans, reached, contacts = figures()
    assert spans == {"subscriber": 1, "lead": 1}  # each of the two moves ends one stay
    assert (reached["mql"], contacts) == (1, 2)

    contact_merge(survivor=kept, merged=gone, actor=admin, take_from_merged=set())

    spans, reached, contacts = figures()
    # One person who reached MQL once, by the survivor's own chain (subscriber → MQL, the
    # merge's move): the merged record's moves to lead and MQL are not counted beside it.
    assert spans == {"subscriber": 1}
    assert (reached["lead"], reached["mql"], reached["sql"], contacts) == (1, 1, 0, 1)


def test_a_merged_contacts_creation_row_does_not_hide_the_survivors_first_stay(tenant, admin):
    kept = ContactFactory(tenant=tenant, name="吴敏", phone="13712340000")
    gone = contact_create_at_stage(
        tenant=tenant, actor=admin, data=ContactData(name="吴敏", email="wm@qq.com"), stage="mql"
    )
    contact_merge(survivor=kept, merged=gone, actor=admin, take_from_merged=set())
    stats = funnel_stats_compute(tenant=tenant, contacts=Contact.objects.for_tenant(tenant))
    # the survivor's own chain: created a subscriber, moved to MQL by the merge
    assert {stage: row["n"] for stage, row in stats["time_in_stage"].items()} == {"subscriber": 1}


def test_a_merge_keeps_the_kept_contacts_custom_values_and_fills_its_gaps(
    admin_client, tenant, admin, sales
):
    kind = CustomField.Kind
    make = customfields.custom_field_create
    make(tenant=tenant, actor=admin, label="生日", kind=kind.DATE)
    make(tenant=tenant, actor=admin, label="校区", kind=kind.CHOICE, options=["徐汇", "浦东"])
    make(tenant=tenant, actor=admin, label="课程顾问", kind=kind.MEMBER)
    kept = ContactFactory(tenant=tenant, name="王芳", phone="13800138000",
                          custom={"xiao_qu": "徐汇"})  # fmt: skip
    gone = ContactFactory(tenant=tenant, name="王芳(微信)", phone="", wechat_id="wangfang",
                          custom={"xiao_qu": "浦东", "sheng_ri": "2015-03-04",
                                  "ke_cheng_gu_wen": sales.pk})  # fmt: skip
    url = reverse("contact_merge", args=[tenant.slug, kept.pk, gone.pk])
    page = admin_client.get(url).content.decode()
    assert 'id="merge-custom"' in page
    assert '<th scope="row">校区</th><td>徐汇</td><td>浦东</td>' in page
    assert '<td>2015-03-04<small class="muted"> (fills the gap)</small>' in page
    admin_client.post(url, {"name": "keep"})
    result = Contact.objects.for_tenant(tenant).get(pk=kept.pk)
    assert result.custom == {"xiao_qu": "徐汇", "sheng_ri": "2015-03-04",
                             "ke_cheng_gu_wen": sales.pk}  # fmt: skip
    # the filters find the survivor by the values it took over
    assert ContactCustomValue.objects.for_tenant(tenant).filter(contact=result).count() == 3
    # nothing lost: the other's own values stay in the merge's record
    record = ContactMerge.objects.for_tenant(tenant).get()
    assert record.merged_data["custom"]["xiao_qu"] == "浦东"


# --- either contact may stay, and two of one name are told apart ----------------------------


def _rows(model, tenant, contacts) -> dict[int, dict]:
    """Every row of `model` the contacts hold, by id, without the contact it hangs on."""
    rows = model.objects.for_tenant(tenant).filter(contact__in=contacts).order_by("pk").values()
    skip = {"contact_id", "merged_from_id", "merged_from_name"}
    return {row["id"]: {k: v for k, v in row.items() if k not in skip} for row in rows}


@pytest.fixture
def namesakes(tenant, sales, marketer, admin, make_tag):
    """Two 张伟 who are one person (the same email name), each with a life of its own: the
    older one owned by sales (an MQL by booking a trial), the newer one an SQL owned by the
    marketer."""
    spoken, kids = make_tag("课程兴趣", "成人口语"), make_tag("课程兴趣", "少儿英语")
    older = ContactFactory(tenant=tenant, name="张伟", phone="13800138000", email="zw@qq.com",
                           owner=sales, company="腾飞科技")  # fmt: skip
    newer = ContactFactory(tenant=tenant, name="张伟", phone="", email="zw@163.com",
                           wechat_id="zhangwei88", owner=marketer)  # fmt: skip
    Contact.objects.for_tenant(tenant).filter(pk=older.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    older.refresh_from_db()
    contact_stage_move(contact=older, actor=sales, to_stage="lead")
    contact_tag_add(contact=older, tag=spoken, actor=sales)
    event_log(contact=older, actor=sales, kind="trial_booked")
    activity_log(contact=older, actor=sales, kind="call", text="约了周六试听")
    task_create(contact=older, actor=sales, title="周六前回电", assignee=sales,
                due_at=timezone.now() + timedelta(days=2))  # fmt: skip
    consent_grant(contact=older, channel="sms", actor=marketer)
    contact_stage_move(contact=newer, actor=marketer, to_stage="sql")
    contact_tag_add(contact=newer, tag=spoken, actor=marketer)  # both have it: kept once
    contact_tag_add(contact=newer, tag=kids, actor=marketer)
    consent_grant(contact=newer, channel="email", actor=marketer)
    return older, newer


def test_the_merge_page_tells_two_contacts_of_one_name_apart(admin_client, tenant, namesakes):
    older, newer = namesakes
    page = admin_client.get(_merge_url(tenant, older, newer))
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Merge “张伟” #{newer.pk} into “张伟” #{older.pk}" in html
    header = html[html.index("<thead>") : html.index("</thead>")]
    for contact, facts in (
        (older, ["13800138000", "zw@qq.com", "Marketing qualified lead"]),
        (newer, ["zw@163.com", "Sales qualified lead"]),
    ):
        created = timezone.localtime(contact.created_at).strftime("%Y-%m-%d")
        side = f'{reverse("contact_detail", args=[tenant.slug, contact.pk])}">张伟</a>'
        assert side in header and f"#{contact.pk}" in header
        assert f"Created: {created}" in header
        assert [fact for fact in facts if fact not in header] == []
    assert f"Owner: {older.owner.display_name}" in header
    assert f"Owner: {newer.owner.display_name}" in header


def test_the_merge_page_offers_to_keep_the_other_contact_instead(admin_client, tenant, namesakes):
    older, newer = namesakes
    html = admin_client.get(_merge_url(tenant, older, newer)).content.decode()
    assert f"“张伟” #{older.pk} stays." in html  # as before: the contact the page was opened from
    swapped = f"{_merge_url(tenant, newer, older)}?from={older.pk}"
    assert f'href="{swapped}"' in html
    assert f"Keep “张伟” #{newer.pk} instead" in html

    html = admin_client.get(swapped).content.decode()
    assert f"Merge “张伟” #{older.pk} into “张伟” #{newer.pk}" in html
    assert f"“张伟” #{newer.pk} stays." in html
    assert f'href="{_merge_url(tenant, older, newer)}?from={older.pk}"' in html  # and back
    # Cancel still leads back to the duplicates page it was opened from
    assert f'href="{reverse("contact_duplicates", args=[tenant.slug, older.pk])}"' in html


def test_keeping_the_other_contact_moves_everything_the_first_held_onto_it(
    admin_client, tenant, admin, namesakes
):
    older, newer = namesakes
    both = [older, newer]
    held = {model: _rows(model, tenant, both)
            for model in (StageChange, Event, Activity, Task, Consent)}  # fmt: skip
    assert all(held.values())  # each kind of row is there to lose

    response = admin_client.post(
        f"{_merge_url(tenant, newer, older)}?from={older.pk}", {"company": "other"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("contact_detail", args=[tenant.slug, newer.pk])
    assert (
        f"“张伟” (#{older.pk}) was merged into “张伟” (#{newer.pk})." in response.content.decode()
    )
    assert list(Contact.objects.for_tenant(tenant)) == [newer]
    kept = Contact.objects.for_tenant(tenant).get()
    # the kept contact's own fields, the company chosen from the other, its phone filling the gap
    assert (kept.name, kept.email, kept.wechat_id, kept.owner_id, kept.company, kept.phone) == (
        "张伟", "zw@163.com", "zhangwei88", newer.owner_id, "腾飞科技", "13800138000",
    )  # fmt: skip
    assert (kept.stage, kept.furthest_stage) == ("sql", "sql")  # already further: no move
    # every row of both, now the kept one's: none lost, none added, none changed
    for model, rows in held.items():
        assert _rows(model, tenant, [newer]) == rows, model
    moved = StageChange.objects.for_tenant(tenant).filter(merged_from_id=older.pk)
    assert moved.count() == 2 and set(moved.values_list("merged_from_name", flat=True)) == {"张伟"}
    tags = ContactTag.objects.for_tenant(tenant).values_list("contact_id", "tag__label")
    assert sorted(tags) == [(newer.pk, "少儿英语"), (newer.pk, "成人口语")]  # the shared one once
    assert {item.channel: item.state for item in consent_states(contact=kept)} == {
        "email": GRANTED, "sms": GRANTED, "phone": UNKNOWN, "wechat": UNKNOWN,
    }  # fmt: skip
    record = ContactMerge.objects.for_tenant(tenant).get()
    assert (record.survivor_id, record.merged_name, record.merged_data["phone"]) == (
        newer.pk, "张伟", "13800138000",
    )  # fmt: skip
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.CONTACTS_MERGED)
    assert (entry.details["kept"], entry.details["merged"]) == (newer.pk, older.pk)


def test_sales_may_keep_either_of_two_that_share_a_channel_but_neither_of_namesakes(
    sales_client, tenant, namesakes
):
    older, newer = namesakes
    assert sales_client.get(_merge_url(tenant, newer, older)).status_code == 200
    other = ContactFactory(tenant=tenant, name="张伟", phone="13900000002")
    before = _everything(tenant)
    for url in (_merge_url(tenant, older, other), _merge_url(tenant, other, older)):
        page = sales_client.get(f"{url}?from={older.pk}")
        assert page.status_code == 403 and "instead" not in page.content.decode()
        assert sales_client.post(url, {"name": "keep"}).status_code == 403
    assert _everything(tenant) == before


def test_another_companys_admin_gets_404_with_the_survivor_either_way(
    outsider_client, tenant, namesakes
):
    older, newer = namesakes
    before = _everything(tenant)
    for kept, gone in ((older, newer), (newer, older)):
        url = f"{_merge_url(tenant, kept, gone)}?from={older.pk}"
        assert outsider_client.get(url).status_code == 404
        assert outsider_client.post(url, {"name": "other"}).status_code == 404
    assert _everything(tenant) == before
    assert set(Contact.objects.for_tenant(tenant)) == {older, newer}
