"""Issue 19's story, as an integrator new to the company would walk it with a marketer's token
and nothing else: learn the stages, fields and members, create the tags the form needs, send a
contact with them, log what was said and leave a follow-up for a salesperson."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from activities.models import Activity, Task
from crm.models import Contact
from tagging.models import ContactTag, Tag
from tests.integrations.conftest import token_for


def test_an_integrator_sets_up_a_form_over_the_api_alone(tenant, marketer, sales):
    # a client that enforces CSRF, as a server-side integration is: the token is all it sends
    client = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(marketer, '官网表单')}"}

    def call(method, path, body=None):
        kwargs = {"content_type": "application/json", **auth}
        if body is not None:
            kwargs["data"] = body
        response = getattr(client, method)(f"/api/v1{path}", **kwargs)
        assert response["Content-Type"].startswith("application/json")
        return response.status_code, response.json()

    # what the company calls its stages, and who can take a follow-up
    status, stages = call("get", "/stages")
    assert status == 200 and [s["key"] for s in stages["items"]][:2] == ["subscriber", "lead"]
    status, members = call("get", "/members")
    assert sales.user.username in [m["username"] for m in members["items"]]
    assert call("get", "/custom-fields") == (200, {"items": []})

    # the tags the form needs: a group and two tags, one with an alias
    status, group = call("post", "/tag-groups", {"label": "渠道"})
    assert status == 201
    assert call("post", "/tags", {"label": "官网", "group": "渠道"})[0] == 201
    status, tag = call("post", "/tags", {"label": "抖音", "group": group["key"],
                                         "aliases": ["douyin"]})  # fmt: skip
    assert status == 201 and tag["aliases"] == ["douyin"]
    status, tags = call("get", "/tags")
    assert sorted(t["label"] for t in tags["items"]) == ["官网", "抖音"]

    # a contact from the form, with its tags (by name and alias), at the stage its label names
    status, contact = call("post", "/contacts", {
        "name": "韩梅梅", "phone": "13900002222", "source": "官网表单",
        "tags": ["官网", "douyin"], "stage": stages["items"][1]["label"],
    })  # fmt: skip
    assert status == 201, contact
    assert contact["tags"] == ["官网", "抖音"] and contact["stage"] == "lead"
    assert contact["activity"]["status"] == "new" and contact["activity"]["open_tasks"] == 0

    # what was said on the phone, and a follow-up for the salesperson
    said = {"kind": "call", "text": "想了解周末班", "outcome": "Interested"}
    status, activity = call("post", f"/contacts/{contact['id']}/activities", said)
    assert status == 201 and activity["author"] == marketer.user.username
    due = (timezone.now() + timedelta(days=1)).isoformat()
    follow_up = {"title": "回电约试听", "due_at": due, "assignee": sales.user.username}
    status, task = call("post", f"/contacts/{contact['id']}/tasks", follow_up)
    assert status == 201 and task["assignee"] == sales.user.username

    status, shown = call("get", f"/contacts/{contact['id']}")
    assert shown["activity"]["open_tasks"] == 1 and shown["activity"]["last_activity_at"]
    status, listed = call("get", f"/tasks?assignee={sales.user.username}")
    assert [t["title"] for t in listed["items"]] == ["回电约试听"]
    status, done = call("post", f"/tasks/{task['id']}/complete")
    assert status == 200 and done["done"] is True

    # what the pages now hold
    stored = Contact.objects.for_tenant(tenant).get(pk=contact["id"])
    assert {ct.tag.label for ct in ContactTag.objects.filter(contact=stored)} == {"官网", "抖音"}
    assert Tag.objects.for_tenant(tenant).count() == 2
    assert Activity.objects.for_tenant(tenant).get().contact == stored
    assert Task.objects.for_tenant(tenant).get().done_by == marketer

    # a typo in an address, or a method the address does not take: JSON, never an HTML page
    status, error = call("post", "/tag", {"label": "x"})
    assert status == 404 and error["error"]["code"] == "not_found"
    status, error = call("delete", "/tags")
    assert status == 405 and error["error"]["code"] == "method_not_allowed"
