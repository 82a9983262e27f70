"""An admin says who new leads go to: "contacts tagged 地推传单 go to 孙", "everyone else in turn
between 赵 and 孙". Every contact created without an owner, by hand, through the API or by an
import, gets one by the first rule that matches; one created with an owner keeps it."""

import threading
from collections import Counter
from unittest import mock

import pytest
from django.db import connections
from django.urls import reverse

from activities.assignment import (
    assignment_rule_save,
    contacts_owners_plan,
    contacts_owners_settle,
)
from activities.models import AssignmentRule, AssignmentRuleMember, Task
from activities.services import task_rule_save
from crm.models import AuditEntry, AuditKind, Contact
from crm.services import ContactData, NotAllowed, ServiceError, contact_create
from crm.tenancy import membership_remove
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading
from spreadsheets.imports.undo import import_undo_counts
from tagging.services import contact_tag_add
from tests.factories import ContactFactory, MembershipFactory
from tests.integrations.conftest import ApiClient, token_for


@pytest.fixture
def sun(tenant):
    """A second salesperson, joined after 赵 (zhao): the rotation goes 赵, 孙, 赵, …"""
    return MembershipFactory(tenant=tenant, role="sales", user__username="sun")


@pytest.fixture
def flyer(make_tag):
    return make_tag("来源", "地推传单")


def in_turn(tenant, admin, *members):
    return assignment_rule_save(tenant=tenant, actor=admin, tag=None, members=list(members))


def tagged(tenant, admin, tag, *members):
    return assignment_rule_save(tenant=tenant, actor=admin, tag=tag, members=list(members))


def create(tenant, name, owner=None):
    contact = contact_create(tenant=tenant, actor=None, data=ContactData(name=name, owner=owner))
    contact.refresh_from_db()
    return contact


def owners(tenant, names):
    by_name = dict(Contact.objects.for_tenant(tenant).values_list("name", "owner__user__username"))
    return [by_name[name] for name in names]


def run_import(tenant, member, text):
    job = imports.import_start(tenant=tenant, actor=member, file_name="客户.csv",
                               content=text.encode(), language="en")  # fmt: skip
    job.mapping = imports.guess_mapping(reading.read_table(text.encode(), "客户.csv")[2][0])
    job.save()
    return imports.import_run(job=job)


def turns(rule):
    rule.refresh_from_db()
    return rule.turns


# --- round-robin ----------------------------------------------------------------------------


def test_new_contacts_go_in_turn_to_the_chosen_members(tenant, admin, sales, sun):
    rule = in_turn(tenant, admin, sun, sales)  # the rotation is by membership, not by the clicks
    made = [create(tenant, f"客户{i}") for i in range(5)]
    assert [c.owner for c in made] == [sales, sun, sales, sun, sales]
    assert turns(rule) == 5


def test_an_import_continues_the_rotation_row_by_row_across_chunks(
    tenant, admin, marketer, sales, sun
):
    rule = in_turn(tenant, admin, sales, sun)
    create(tenant, "先来的")  # 赵's turn; the file starts with 孙's
    rows = "".join(f"客户{i},1380000000{i}\n" for i in range(5))
    with mock.patch.object(imports, "CHUNK", 2):
        job = run_import(tenant, marketer, "姓名,手机\n" + rows)
    assert job.created == 5
    assert owners(tenant, [f"客户{i}" for i in range(5)]) == ["sun", "zhao", "sun", "zhao", "sun"]
    assert turns(rule) == 6
    # given by a rule, not touched by a person: the import can still be taken back whole
    assert import_undo_counts(job=job).removable == 5


def test_the_contact_form_leaves_the_owner_to_the_rules_when_none_is_chosen(
    sales_client, tenant, admin, sales, sun
):
    in_turn(tenant, admin, sun)
    response = sales_client.post(reverse("contact_create", args=[tenant.slug]), {"name": "林小雨"})
    assert response.status_code == 302
    assert owners(tenant, ["林小雨"]) == ["sun"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_give_the_same_turn(tenant, admin, sales, sun):
    rule = in_turn(tenant, admin, admin, sales, sun)
    barrier = threading.Barrier(6)

    def worker(n):
        try:
            barrier.wait()
            for i in range(5):
                contact_create(tenant=tenant, actor=None, data=ContactData(name=f"并发{n}-{i}"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    given = Counter(Contact.objects.for_tenant(tenant).values_list("owner_id", flat=True))
    assert given == {admin.pk: 10, sales.pk: 10, sun.pk: 10}  # 30 turns, each given once
    assert turns(rule) == 30


def test_two_import_chunks_planned_at_once_still_give_each_member_an_exact_share(
    tenant, admin, sales, sun
):
    """An import plans each chunk's owners from the rotation as it stands and takes the turns
    at the end; a chunk planned beside another moves only what evens the counts out."""
    rule = in_turn(tenant, admin, admin, sales, sun)
    first = contacts_owners_plan(tenant=tenant, tags=[[]] * 4)
    second = contacts_owners_plan(tenant=tenant, tags=[[]] * 5)  # before the first took turns
    written = {}
    for name, plan in (("甲", first), ("乙", second)):
        made = [ContactFactory(tenant=tenant, name=f"{name}{i}", owner_id=owner)
                for i, owner in enumerate(plan.owner_ids)]  # fmt: skip
        contacts_owners_settle(plan=plan, contact_ids=[c.pk for c in made])
        written[name] = owners(tenant, [c.name for c in made])
    assert written["甲"] == ["wang", "zhao", "sun", "wang"]  # turns 0-3, as planned
    # turns 4-8 are zhao, sun, wang, zhao, sun: one contact planned for wang goes to sun
    assert written["乙"] == ["wang", "zhao", "sun", "sun", "zhao"]
    assert Counter(written["甲"] + written["乙"]) == {"wang": 3, "zhao": 3, "sun": 3}
    assert turns(rule) == 9


# --- by tag, order, owners kept -------------------------------------------------------------


def test_contacts_tagged_at_creation_go_to_the_tags_member_and_the_rest_in_turn(
    tenant, admin, marketer, sales, sun, flyer
):
    tagged(tenant, admin, flyer, sun)
    in_turn(tenant, admin, sales, sun)
    run_import(tenant, marketer, "姓名,手机,标签\n甲,13800000001,地推传单\n乙,13800000002,\n"
                                 "丙,13800000003,地推传单\n丁,13800000004,\n")  # fmt: skip
    assert owners(tenant, ["甲", "乙", "丙", "丁"]) == ["sun", "zhao", "sun", "sun"]


def test_the_api_gives_a_contact_sent_with_a_tag_to_the_tags_member(
    tenant, admin, sales, sun, flyer
):
    tagged(tenant, admin, flyer, sun)
    rule = in_turn(tenant, admin, sales)
    api = ApiClient(token_for(admin))
    with_tag = api.post("/contacts", {"name": "官网来的", "tags": ["地推传单"]})
    without = api.post("/contacts", {"name": "没有标签", "stage": "mql"})
    assert (with_tag.status_code, without.status_code) == (201, 201)
    assert (with_tag.json()["owner"], without.json()["owner"]) == ("sun", "zhao")
    assert owners(tenant, ["官网来的", "没有标签"]) == ["sun", "zhao"]
    assert turns(rule) == 1


def test_a_contact_created_with_an_owner_keeps_it(tenant, admin, marketer, sales, sun, flyer):
    rule = in_turn(tenant, admin, sun)
    tag_rule = tagged(tenant, admin, flyer, sun)
    assert create(tenant, "自己的", owner=sales).owner == sales
    run_import(tenant, marketer, "姓名,手机,负责人,标签\n文件里的,13800000001,zhao,地推传单\n")
    sent = ApiClient(token_for(admin)).post(
        "/contacts", {"name": "接口来的", "owner": "zhao", "tags": ["地推传单"]}
    )
    assert sent.json()["owner"] == "zhao"
    assert owners(tenant, ["自己的", "文件里的", "接口来的"]) == ["zhao", "zhao", "zhao"]
    assert (turns(rule), turns(tag_rule)) == (0, 0)


def test_the_first_rule_that_matches_wins_and_an_admin_can_reorder_them(
    admin_client, tenant, admin, sales, sun
):
    first = in_turn(tenant, admin, sales)
    second = in_turn(tenant, admin, sun)
    assert create(tenant, "一").owner == sales
    admin_client.post(reverse("assignment_rule_up", args=[tenant.slug, second.pk]))
    assert create(tenant, "二").owner == sun
    assert list(AssignmentRule.objects.for_tenant(tenant).order_by("position")) == [second, first]


def test_a_rule_turned_off_or_deleted_gives_nobody(admin_client, tenant, admin, sales):
    rule = in_turn(tenant, admin, sales)
    admin_client.post(reverse("assignment_rule_active", args=[tenant.slug, rule.pk]),
                      {"active": "0"})  # fmt: skip
    assert create(tenant, "关了").owner is None
    admin_client.post(reverse("assignment_rule_active", args=[tenant.slug, rule.pk]),
                      {"active": "1"})  # fmt: skip
    assert create(tenant, "开了").owner == sales
    admin_client.post(reverse("assignment_rule_delete", args=[tenant.slug, rule.pk]))
    assert not AssignmentRule.objects.for_tenant(tenant).exists()
    assert create(tenant, "删了").owner is None
    assert owners(tenant, ["开了"]) == ["zhao"]  # what it gave stays


def test_a_member_who_leaves_drops_out_and_a_rule_with_nobody_left_is_skipped(
    tenant, admin, marketer, sales, sun, flyer
):
    only_sun = tagged(tenant, admin, flyer, sun)
    in_turn(tenant, admin, sun, sales)
    membership_remove(membership=sun, actor=admin)
    assert not AssignmentRuleMember.objects.for_tenant(tenant).filter(member_id=sun.pk).exists()
    assert AssignmentRule.objects.for_tenant(tenant).filter(pk=only_sun.pk).exists()
    run_import(tenant, marketer, "姓名,手机,标签\n甲,13800000001,地推传单\n乙,13800000002,\n")
    assert owners(tenant, ["甲", "乙"]) == ["zhao", "zhao"]


def test_who_assigned_is_in_the_audit_log(tenant, admin, sales, flyer):
    in_turn(tenant, admin, sales)
    contact = create(tenant, "李雷")
    entry = AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.BULK_ASSIGN).get()
    assert (entry.actor, entry.actor_label, entry.subject, entry.count) == (
        None, "Assignment rule: every new contact", "zhao", 1,
    )  # fmt: skip
    assert entry.details["contacts"] == [contact.pk]


# --- the settings page ----------------------------------------------------------------------


def test_an_admin_adds_a_rule_from_the_settings_page(admin_client, tenant, sales, sun, flyer):
    url = reverse("assignment_rule_list", args=[tenant.slug])
    response = admin_client.post(url, {"tag": str(flyer.pk), "members": [sales.pk, sun.pk]})
    assert response.status_code == 302
    rule = AssignmentRule.objects.for_tenant(tenant).get()
    assert (rule.tag, rule.active, rule.turns) == (flyer, True, 0)
    members = AssignmentRuleMember.objects.for_tenant(tenant).filter(rule=rule)
    assert sorted(members.values_list("member_id", flat=True)) == sorted([sales.pk, sun.pk])
    page = admin_client.get(url).content.decode()
    assert "Contacts tagged “来源 · 地推传单” → zhao、sun" in page and "next: zhao" in page


def test_another_companys_member_or_tag_is_refused_and_nothing_is_saved(
    admin_client, tenant, admin, sales, outsider, make_tag, other_tenant
):
    url = reverse("assignment_rule_list", args=[tenant.slug])
    forged = admin_client.post(url, {"members": [sales.pk, outsider.pk]})
    assert forged.status_code == 422
    assert "Choose members of this company." in forged.content.decode()
    foreign_tag = make_tag("来源", "别家的标签", on=other_tenant)
    forged_tag = admin_client.post(url, {"tag": str(foreign_tag.pk), "members": [sales.pk]})
    assert forged_tag.status_code == 422
    assert "Choose a tag of this company." in forged_tag.content.decode()
    with pytest.raises(ServiceError, match="Choose members of this company."):
        in_turn(tenant, admin, sales, outsider)
    assert not AssignmentRule.objects.for_tenant(tenant).exists()
    assert not AssignmentRuleMember.objects.for_tenant(tenant).exists()


def test_only_admins_see_or_change_the_assignment_rules(
    sales_client, marketer_client, tenant, admin, sales, marketer
):
    rule = in_turn(tenant, admin, sales)
    url = reverse("assignment_rule_list", args=[tenant.slug])
    for client in (sales_client, marketer_client):
        assert client.get(url).status_code == 403
        assert client.post(url, {"members": [sales.pk]}).status_code == 403
        for name in ("assignment_rule_active", "assignment_rule_up", "assignment_rule_delete"):
            assert client.post(reverse(name, args=[tenant.slug, rule.pk])).status_code == 403
    assert list(AssignmentRule.objects.for_tenant(tenant).values_list("pk", "active")) == [
        (rule.pk, True)
    ]
    with pytest.raises(NotAllowed):
        in_turn(tenant, sales, sales)


def test_another_companys_rule_is_not_found_and_stays_as_it_was(
    admin_client, tenant, other_tenant, outsider
):
    theirs = in_turn(other_tenant, outsider, outsider)
    for name in ("assignment_rule_active", "assignment_rule_up", "assignment_rule_delete"):
        response = admin_client.post(reverse(name, args=[tenant.slug, theirs.pk]), {"active": "0"})
        assert response.status_code == 404
    assert list(AssignmentRule.objects.for_tenant(other_tenant).values_list("pk", "active")) == [
        (theirs.pk, True)
    ]


def test_the_settings_page_costs_the_same_queries_for_1_or_6_rules(
    admin_client, tenant, admin, sales, sun, make_tag, django_assert_num_queries
):
    url = reverse("assignment_rule_list", args=[tenant.slug])
    in_turn(tenant, admin, sales, sun)
    # session, user, database scope (person, then company), the person's memberships; the
    # company's tags and members (the form and the rules' names), the rules, their members; the
    # header's counts
    with django_assert_num_queries(10):
        admin_client.get(url)
    for n in range(5):
        tagged(tenant, admin, make_tag("来源", f"渠道{n}"), sun)
    with django_assert_num_queries(10):
        response = admin_client.get(url)
    assert len(response.context["rules"]) == 6


def test_the_settings_nav_links_the_page_for_admins_only(admin_client, sales_client, tenant):
    url = reverse("assignment_rule_list", args=[tenant.slug])
    task_rules = reverse("task_rule_list", args=[tenant.slug])
    assert url in admin_client.get(task_rules).content.decode()
    assert url not in sales_client.get(reverse("tag_settings", args=[tenant.slug])).content.decode()


def test_existing_contacts_are_never_reassigned_nor_a_tag_added_later(
    tenant, admin, sales, sun, flyer
):
    ContactFactory(tenant=tenant, name="老客户")
    tagged(tenant, admin, flyer, sun)
    in_turn(tenant, admin, sales)
    later = create(tenant, "新客户")
    contact_tag_add(contact=later, tag=flyer, actor=admin)
    assert owners(tenant, ["老客户", "新客户"]) == [None, "zhao"]


def test_the_task_a_task_rule_gives_an_imported_contact_is_for_its_new_owner(
    tenant, admin, marketer, sales
):
    in_turn(tenant, admin, sales)
    task_rule_save(tenant=tenant, actor=admin, stage="sql", title="24 小时内电话跟进", due_hours=24)
    run_import(tenant, marketer, "姓名,手机,阶段\n甲,13900000001,sql\n")
    (task,) = Task.objects.for_tenant(tenant)
    assert (task.contact.name, task.assignee) == ("甲", sales)
