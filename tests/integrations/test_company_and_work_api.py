"""The company's words over the API (stages with labels and aliases, custom fields, members)
and a contact's work (activities, tasks, events): the same services as the contact page,
another company's ids not found, every list a bounded number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from activities.models import Activity, Notification, Task
from activities.services import task_create
from crm import customfields as cf
from crm.models import CustomField
from grading.models import ContactGrade
from lifecycle.models import StageAlias, StageSetting
from lifecycle.selectors import stage_name_key, stage_settings_changed
from tagging.rules import event_log
from tests.factories import ContactFactory
from tests.integrations.conftest import error_of

# --- stages, custom fields, members ----------------------------------------------------------


def test_stages_come_in_order_with_the_companys_labels_and_aliases(admin_api, tenant):
    StageSetting.objects.create(tenant=tenant, stage="lead", label="02-潜在客户")
    StageAlias.objects.create(
        tenant=tenant, stage="lead", name="潜客", name_key=stage_name_key("潜客")
    )
    stage_settings_changed(tenant=tenant)
    items = admin_api.get("/stages").json()["items"]
    assert [(s["key"], s["order"]) for s in items] == [
        ("subscriber", 1), ("lead", 2), ("mql", 3), ("sql", 4), ("opportunity", 5),
        ("customer", 6), ("evangelist", 7),
    ]  # fmt: skip
    assert items[1]["label"] == "02-潜在客户" and items[1]["aliases"] == ["潜客"]
    assert items[0]["aliases"] == [] and items[0]["colour"].startswith("#")


def test_custom_field_definitions_are_listed_in_the_companys_order(admin_api, tenant, admin):
    Kind = CustomField.Kind
    cf.custom_field_create(tenant=tenant, actor=admin, label="生日", kind=Kind.DATE)
    cf.custom_field_create(
        tenant=tenant, actor=admin, label="校区", kind=Kind.CHOICE, options=["徐汇", "浦东"],
        required=True, help_text="上课的校区",
    )  # fmt: skip
    items = admin_api.get("/custom-fields").json()["items"]
    assert items == [
        {"key": "sheng_ri", "label": "生日", "kind": "date", "required": False, "options": [],
         "help_text": ""},
        {"key": "xiao_qu", "label": "校区", "kind": "choice", "required": True,
         "options": ["徐汇", "浦东"], "help_text": "上课的校区"},
    ]  # fmt: skip


def test_members_are_listed_without_their_emails(sales_api, admin, marketer, sales, outsider):
    admin.user.email = "wang@example.com"
    admin.user.first_name = "校长"
    admin.user.save()
    response = sales_api.get("/members")
    items = response.json()["items"]
    assert [(m["username"], m["role"]) for m in items] == [
        ("li", "marketer"),
        (sales.user.username, "sales"),
        ("wang", "admin"),
    ] or sorted(m["username"] for m in items) == sorted(["li", sales.user.username, "wang"])
    assert "wang@example.com" not in response.content.decode()
    assert outsider.user.username not in response.content.decode()


# --- activities -------------------------------------------------------------------------------


def test_an_activity_is_logged_and_listed_latest_first(sales_api, sales, contact):
    earlier = timezone.now() - timedelta(days=2)
    first = sales_api.post(f"/contacts/{contact.pk}/activities", {
        "kind": "call", "text": "问了价格", "outcome": "Interested",
        "occurred_at": earlier.isoformat(),
    })  # fmt: skip
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["kind"] == "call" and body["author"] == sales.user.username
    assert body["contact_id"] == contact.pk
    friday = (timezone.now() + timedelta(days=3)).isoformat()
    second = sales_api.post(f"/contacts/{contact.pk}/activities", {
        "kind": "wechat", "text": "发了课表", "follow_up": {"title": "周五回电", "due_at": friday},
    })  # fmt: skip
    assert second.status_code == 201
    listed = sales_api.get(f"/contacts/{contact.pk}/activities").json()
    assert [a["text"] for a in listed["items"]] == ["发了课表", "问了价格"]
    assert listed["next"] is None
    task = Task.objects.get(contact=contact)
    assert task.title == "周五回电" and task.assignee == sales
    assert task.activity_id == second.json()["id"]


def test_an_activity_without_text_or_from_the_future_changes_nothing(admin_api, contact):
    empty = admin_api.post(f"/contacts/{contact.pk}/activities", {"kind": "note"})
    assert empty.status_code == 400 and error_of(empty)["code"] == "refused"
    later = (timezone.now() + timedelta(days=1)).isoformat()
    future = admin_api.post(
        f"/contacts/{contact.pk}/activities", {"kind": "note", "text": "x", "occurred_at": later}
    )
    assert future.status_code == 400
    wrong = admin_api.post(f"/contacts/{contact.pk}/activities", {"kind": "fax", "text": "x"})
    assert wrong.status_code == 400 and error_of(wrong)["code"] == "invalid"
    assert not Activity.objects.exists()


def test_activities_pages_follow_the_cursor(admin_api, admin, contact):
    for n in range(5):
        Activity.objects.create(
            tenant=contact.tenant, contact=contact, kind="note", text=f"{n}", author=admin,
            occurred_at=timezone.now() - timedelta(hours=n),
        )  # fmt: skip
    first = admin_api.get(f"/contacts/{contact.pk}/activities", {"limit": 3}).json()
    second = admin_api.get(
        f"/contacts/{contact.pk}/activities", {"limit": 3, "cursor": first["next"]}
    ).json()
    assert [a["text"] for a in first["items"] + second["items"]] == ["0", "1", "2", "3", "4"]
    assert second["next"] is None
    bad = admin_api.get(f"/contacts/{contact.pk}/activities", {"cursor": "nonsense"})
    assert bad.status_code == 400


# --- tasks ------------------------------------------------------------------------------------


def test_a_task_is_created_for_a_member_who_is_told_and_completed_once(
    marketer_api, marketer, sales, contact
):
    due = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = marketer_api.post(f"/contacts/{contact.pk}/tasks", {
        "title": "寄试听券", "due_at": due.isoformat(), "assignee": sales.user.username,
    })  # fmt: skip
    assert response.status_code == 201, response.content
    task = response.json()
    assert task["assignee"] == sales.user.username and task["done"] is False
    assert task["contact_name"] == contact.name
    assert Notification.objects.filter(member=sales, kind="task_given").count() == 1
    done = marketer_api.post(f"/tasks/{task['id']}/complete")
    assert done.status_code == 200
    assert done.json()["done"] is True and done.json()["done_by"] == marketer.user.username
    done_at = done.json()["done_at"]
    again = marketer_api.post(f"/tasks/{task['id']}/complete")
    assert again.json()["done_at"] == done_at
    reopened = marketer_api.post(f"/tasks/{task['id']}/reopen").json()
    assert reopened["done"] is False and reopened["done_by"] is None


def test_a_task_is_the_tokens_members_unless_said_and_a_stranger_is_refused(
    sales_api, sales, contact
):
    due = (timezone.now() + timedelta(hours=3)).isoformat()
    mine = sales_api.post(f"/contacts/{contact.pk}/tasks", {"title": "回电", "due_at": due})
    assert mine.json()["assignee"] == sales.user.username
    stranger = sales_api.post(
        f"/contacts/{contact.pk}/tasks", {"title": "x", "due_at": due, "assignee": "nobody"}
    )
    assert stranger.status_code == 400 and "nobody" in error_of(stranger)["message"]
    assert Task.objects.count() == 1


def test_tasks_are_listed_per_contact_and_for_the_company(admin_api, admin, sales, contact):
    other = ContactFactory(tenant=contact.tenant, name="李雷")
    now = timezone.now()
    t1 = task_create(contact=contact, actor=admin, title="一", due_at=now + timedelta(days=2),
                     assignee=sales)  # fmt: skip
    task_create(contact=other, actor=admin, title="二", due_at=now + timedelta(days=1),
                assignee=admin)  # fmt: skip
    done = task_create(contact=contact, actor=admin, title="三", due_at=now, assignee=sales)
    admin_api.post(f"/tasks/{done.pk}/complete")
    per_contact = admin_api.get(f"/contacts/{contact.pk}/tasks").json()["items"]
    assert [t["title"] for t in per_contact] == ["一"]
    every = admin_api.get(f"/contacts/{contact.pk}/tasks", {"status": "all"}).json()["items"]
    assert [t["title"] for t in every] == ["三", "一"]
    company = admin_api.get("/tasks").json()["items"]
    assert [t["title"] for t in company] == ["二", "一"]
    assert [t["title"] for t in admin_api.get("/tasks", {"assignee": "me"}).json()["items"]] == [
        "二"
    ]
    theirs = admin_api.get("/tasks", {"assignee": sales.user.username}).json()["items"]
    assert [t["id"] for t in theirs] == [t1.pk]
    assert admin_api.get("/tasks", {"status": "later"}).status_code == 400


def test_task_lists_cost_the_same_queries_however_many(admin_api, admin, contact,
                                                       django_assert_max_num_queries):  # fmt: skip
    for n in range(30):
        task_create(contact=ContactFactory(tenant=contact.tenant), actor=admin, title=f"t{n}",
                    due_at=timezone.now(), assignee=admin)  # fmt: skip
    with django_assert_max_num_queries(12):
        assert len(admin_api.get("/tasks").json()["items"]) == 30


# --- events -----------------------------------------------------------------------------------


def test_the_contacts_events_are_listed_latest_first(admin_api, admin, contact):
    event_log(contact=contact, actor=admin, kind="form_submitted", note="官网",
              occurred_at=timezone.now() - timedelta(days=1))  # fmt: skip
    admin_api.post(
        f"/contacts/{contact.pk}/events", {"kind": "payment_received", "data": {"amount": "99"}}
    )
    items = admin_api.get(f"/contacts/{contact.pk}/events").json()["items"]
    assert [(e["kind"], e["channel"]) for e in items] == [
        ("payment_received", "api"),
        ("form_submitted", "ui"),
    ]
    assert items[0]["amount"] == "99.00" or float(items[0]["amount"]) == 99
    assert items[1]["note"] == "官网" and items[1]["actor"] == admin.user.username


# --- another company's ids --------------------------------------------------------------------


def test_another_companys_contacts_and_tasks_are_not_found(admin_api, outsider, foreign_contact):
    task = task_create(contact=foreign_contact, actor=outsider, title="theirs",
                       due_at=timezone.now(), assignee=outsider)  # fmt: skip
    due = timezone.now().isoformat()
    for response in (
        admin_api.get(f"/contacts/{foreign_contact.pk}/activities"),
        admin_api.post(f"/contacts/{foreign_contact.pk}/activities", {"kind": "note", "text": "x"}),
        admin_api.get(f"/contacts/{foreign_contact.pk}/tasks"),
        admin_api.post(f"/contacts/{foreign_contact.pk}/tasks", {"title": "x", "due_at": due}),
        admin_api.get(f"/contacts/{foreign_contact.pk}/events"),
        admin_api.get(f"/tasks/{task.pk}"),
        admin_api.post(f"/tasks/{task.pk}/complete"),
        admin_api.post(f"/tasks/{task.pk}/reopen"),
    ):
        assert response.status_code == 404, response.content
        assert error_of(response)["code"] == "not_found"
    task.refresh_from_db()
    assert task.done_at is None
    assert not Activity.objects.exists() and Task.objects.count() == 1
    assert admin_api.get("/tasks").json()["items"] == []
    # nor may a task go to their member
    response = admin_api.post(
        "/contacts/0/tasks", {"title": "x", "due_at": due, "assignee": outsider.user.username}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/stages", "/custom-fields", "/members", "/tags", "/tasks"])
def test_the_lists_need_a_token(anonymous_api, path):
    assert anonymous_api.get(path).status_code == 401


# --- a contact's activity, as its page shows it -------------------------------------------------


def test_a_contact_shows_its_status_last_touch_and_open_tasks(admin_api, admin, contact):
    shown = admin_api.get(f"/contacts/{contact.pk}").json()["activity"]
    assert shown == {
        "status": "new", "status_label": "New", "at_risk": False, "last_seen_at": None,
        "last_activity_at": None, "open_tasks": 0, "paid": "0", "payments": 0,
    } or (shown["status"], shown["open_tasks"], shown["payments"]) == ("new", 0, 0)  # fmt: skip
    admin_api.post(f"/contacts/{contact.pk}/activities", {"kind": "call", "text": "聊了"})
    due = (timezone.now() + timedelta(days=1)).isoformat()
    admin_api.post(f"/contacts/{contact.pk}/tasks", {"title": "回电", "due_at": due})
    shown = admin_api.get(f"/contacts/{contact.pk}").json()["activity"]
    assert shown["open_tasks"] == 1 and shown["last_activity_at"] is not None


def test_a_customer_at_risk_says_so_in_the_list_too(admin_api, tenant, contact):
    now = timezone.now()
    ContactGrade.objects.create(tenant=tenant, contact=contact, status="at_risk", paid=500,
                                payments=2, last_seen_at=now - timedelta(days=70),
                                status_since=now, computed_at=now)  # fmt: skip
    quiet = ContactFactory(tenant=tenant)
    quiet.created_at = now - timedelta(days=400)
    quiet.save(update_fields=["created_at"])
    items = {c["id"]: c["activity"] for c in admin_api.get("/contacts").json()["items"]}
    assert items[contact.pk]["at_risk"] is True and items[contact.pk]["status"] == "at_risk"
    assert items[contact.pk]["payments"] == 2
    assert items[quiet.pk]["status"] == "dormant" and items[quiet.pk]["at_risk"] is False
