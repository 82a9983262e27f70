"""An assignment rule is named in the audit log in the reader's words ("contacts tagged “地推传单”"
/ "带有标签“地推传单”的客户"), whatever language the admin who saved it, or the member whose
new contact it assigned, was reading in."""

from django.urls import reverse
from django.utils import translation

from activities.assignment import assignment_rule_delete, assignment_rule_save
from crm.models import AuditEntry, AuditKind
from crm.services import ContactData, contact_create
from tests.conftest import client_for


def audit_page(admin, language: str) -> str:
    admin.user.language = language
    admin.user.save(update_fields=["language"])
    return client_for(admin).get(reverse("audit_log", args=[admin.tenant.slug])).content.decode()


def test_an_assignment_rule_is_named_in_the_readers_language(tenant, admin, sales, make_tag):
    flyer = make_tag("来源", "地推传单")
    with translation.override("en"):  # saved and run on English pages
        rule = assignment_rule_save(tenant=tenant, actor=admin, tag=flyer, members=[sales])
        assignment_rule_save(tenant=tenant, actor=admin, tag=None, members=[sales])
        contact_create(tenant=tenant, actor=admin, data=ContactData(name="李雷"))
    given = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.BULK_ASSIGN)
    assert given.actor_label == "Assignment rule: every new contact"  # as it was written

    chinese = audit_page(admin, "zh-hans")
    assert "<td>分配规则：所有新客户</td>" in chinese  # who gave the contact an owner
    assert "<td>带有标签“地推传单”的客户</td>" in chinese  # the rules saved
    assert "<td>所有新客户</td>" in chinese
    assert "contacts tagged" not in chinese and "every new contact" not in chinese

    with translation.override("zh-hans"):
        assignment_rule_delete(rule=rule, actor=admin)
    english = audit_page(admin, "en")
    assert english.count("<td>contacts tagged “地推传单”</td>") == 2  # saved, then deleted
    assert "<td>Assignment rule: every new contact</td>" in english
    assert "带有标签" not in english and "所有新客户" not in english


def test_entries_written_before_the_tag_was_kept_read_as_stored(tenant, admin):
    AuditEntry.objects.create(
        tenant=tenant, kind=AuditKind.RULE_SAVED, actor_label="wang", subject="所有新客户",
        details={"assignment_rule": 1, "change": "created"},
    )  # fmt: skip
    assert "<td>所有新客户</td>" in audit_page(admin, "en")
