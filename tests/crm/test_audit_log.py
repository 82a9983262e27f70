"""An admin can see who did what, when and from where, and nobody can rewrite it."""

import datetime
import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditEntry, AuditKind
from crm.services import contact_delete
from integrations.services import api_token_create, api_token_revoke, webhook_endpoint_create
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.selectors import stage_settings
from lifecycle.services import stage_settings_save
from spreadsheets.imports.jobs import import_confirm, import_start
from tagging.models import Tag, TagGroup
from tagging.rules import rule_delete, rule_save
from tagging.services import contacts_bulk_tag
from tests.conftest import PASSWORD, client_for
from tests.factories import ContactFactory, MembershipFactory


def a_tag(tenant) -> Tag:
    group = TagGroup.objects.create(tenant=tenant, key="source", label="来源")
    return Tag.objects.create(
        tenant=tenant, group=group, key="地推", label="地推", label_key="地推"
    )


def entries(tenant, kind=None):
    found = AuditEntry.objects.for_tenant(tenant).order_by("id")
    return list(found.filter(kind=kind) if kind else found)


def test_inviting_and_changing_members_is_recorded_with_who_and_from_where(tenant, admin, sales):
    office = client_for(admin, REMOTE_ADDR="203.0.113.9")
    office.post(reverse("member_add", args=[tenant.slug]), {"username": "sun", "role": "sales"})
    office.post(reverse("member_role", args=[tenant.slug, sales.pk]), {"role": "marketer"})
    office.post(reverse("member_remove", args=[tenant.slug, sales.pk]))

    recorded = [(e.kind, e.actor, e.address, e.subject, e.details) for e in entries(tenant)]
    assert recorded == [
        (AuditKind.MEMBER_INVITED, admin, "203.0.113.9", "sun", {"role": "sales"}),
        (AuditKind.MEMBER_ROLE_CHANGED, admin, "203.0.113.9", "zhao",
         {"from": "sales", "to": "marketer"}),
        (AuditKind.MEMBER_REMOVED, admin, "203.0.113.9", "zhao", {"role": "marketer"}),
    ]  # fmt: skip


def test_failed_logins_and_the_pause_are_recorded_in_each_company_of_the_account(
    tenant, sales, other_tenant
):
    MembershipFactory(tenant=other_tenant, user=sales.user, role="sales")
    guesser = Client(REMOTE_ADDR="198.51.100.4")
    for n in range(15):
        guesser.post(reverse("login"), {"username": "zhao", "password": f"guess-{n}"})
    guesser.post(reverse("login"), {"username": "nobody", "password": "guess"})

    for company in (tenant, other_tenant):
        kinds = [e.kind for e in entries(company)]
        # four failures, then the fifth pauses the account; the ten tries after it add nothing
        assert kinds == [AuditKind.LOGIN_FAILED] * 4 + [AuditKind.LOGIN_LOCKED_OUT]
        assert {e.address for e in entries(company)} == {"198.51.100.4"}
    assert Client().post(reverse("login"), {"username": "zhao", "password": PASSWORD})


def test_what_admins_and_marketers_change_is_recorded(tenant, admin, marketer):
    contacts = [ContactFactory(tenant=tenant).pk for _ in range(3)]
    tag = a_tag(tenant)
    labels = {k: {"label": f"0{n}-{k}", "requirements": s.requirements}
              for n, (k, s) in enumerate(stage_settings(tenant=tenant).items(), 1)}  # fmt: skip
    stage_settings_save(tenant=tenant, actor=admin, rows=labels)
    rule = rule_save(tenant=tenant, actor=admin, name="电话咨询", event_kind="consultation_call",
                     to_stage="sql")  # fmt: skip
    rule_delete(rule=rule, actor=admin)
    contacts_bulk_move(tenant=tenant, actor=marketer, contacts=contacts, to_stage="lead")
    contacts_bulk_tag(tenant=tenant, actor=marketer, contacts=contacts, tag=tag, add=True)
    contact_delete(contact=ContactFactory(tenant=tenant, name="要删的"), actor=admin)
    token, _secret = api_token_create(tenant=tenant, actor=admin, membership=admin, name="表单")
    api_token_revoke(token=token, actor=admin)
    webhook_endpoint_create(tenant=tenant, actor=admin, url="https://example.com/hook",
                            events=["contact.created"])  # fmt: skip
    content = "姓名,手机\n王一,13800000001\n".encode()
    job = import_start(tenant=tenant, actor=marketer, file_name="客户.csv", content=content,
                       language="zh-hans")  # fmt: skip
    import_confirm(job=job, mapping={"0": "name", "1": "phone"}, create_tags=False)

    recorded = [(e.kind, e.actor, e.subject, e.count) for e in entries(tenant)]
    assert recorded == [
        (AuditKind.STAGE_SETTINGS_CHANGED, admin, "", 7),
        (AuditKind.RULE_SAVED, admin, "电话咨询", None),
        (AuditKind.RULE_DELETED, admin, "电话咨询", None),
        (AuditKind.BULK_MOVE, marketer, "02-lead", 3),
        (AuditKind.BULK_TAG, marketer, "地推", 3),
        (AuditKind.CONTACT_DELETED, admin, "要删的", None),
        (AuditKind.TOKEN_CREATED, admin, "表单", None),
        (AuditKind.TOKEN_REVOKED, admin, "表单", None),
        (AuditKind.WEBHOOK_CHANGED, admin, "https://example.com/hook", None),
        # started, not yet counted: the worker counts the file's rows
        (AuditKind.IMPORT_RUN, marketer, "客户.csv", None),
    ]


def test_an_export_is_recorded_with_how_many_rows(tenant, marketer_client, marketer):
    for _ in range(4):
        ContactFactory(tenant=tenant)
    response = marketer_client.get(reverse("contacts_export", args=[tenant.slug]))
    b"".join(response.streaming_content)
    (entry,) = entries(tenant, AuditKind.EXPORT)
    assert (entry.actor, entry.count, entry.details) == (marketer, 4, {"format": "csv"})


def test_the_log_cannot_be_edited_or_deleted_from_the_app(tenant, admin):
    contact_delete(contact=ContactFactory(tenant=tenant), actor=admin)
    (entry,) = entries(tenant)
    entry.subject = "someone else"
    for attempt in (
        entry.save,
        entry.delete,
        lambda: AuditEntry.objects.for_tenant(tenant).update(subject="x"),
        lambda: AuditEntry.objects.for_tenant(tenant).delete(),
    ):
        with pytest.raises(TypeError):
            attempt()
    assert AuditEntry.objects.for_tenant(tenant).get().subject != "someone else"


def test_a_removed_member_still_shows_by_name(tenant, admin, sales):
    tag = a_tag(tenant)
    contacts_bulk_tag(tenant=tenant, actor=sales, contacts=[], tag=tag, add=True)
    sales.delete()
    (entry,) = entries(tenant)
    assert (entry.actor, entry.actor_label) == (None, "zhao")


def _entry(tenant, actor, kind, at, subject=""):
    return AuditEntry.objects.create(
        tenant=tenant, actor=actor, actor_label=actor.user.username, kind=kind, at=at,
        subject=subject,
    )  # fmt: skip


def test_the_admin_page_filters_by_person_kind_and_day_and_pages(
    tenant, admin, sales, admin_client, outsider
):
    now = timezone.now()
    for n in range(55):
        _entry(tenant, sales, AuditKind.EXPORT, now - datetime.timedelta(minutes=n), f"导出{n}")
    _entry(tenant, admin, AuditKind.RULE_SAVED, now - datetime.timedelta(days=3), "规则")
    _entry(outsider.tenant, outsider, AuditKind.RULE_SAVED, now, "别家的规则")
    url = reverse("audit_log", args=[tenant.slug])

    first = admin_client.get(url).content.decode()
    assert first.count("导出") == 50 and "别家的规则" not in first
    following = admin_client.get(url, {"after": _cursor(first)}).content.decode()
    assert following.count("导出") == 5 and "规则" in following

    by_person = admin_client.get(url, {"actor": admin.pk}).content.decode()
    assert "规则" in by_person and "导出" not in by_person
    by_kind = admin_client.get(url, {"kind": "export"}).content.decode()
    assert "规则" not in by_kind
    day = timezone.localtime(now - datetime.timedelta(days=3)).date().isoformat()
    by_day = admin_client.get(url, {"since": day, "until": day}).content.decode()
    assert "规则" in by_day and "导出" not in by_day


def _cursor(page: str) -> str:
    return html.unescape(re.search(r'rel="next" href="\?[^"]*after=([^"&]+)"', page).group(1))


def test_the_log_exports_as_csv_for_excel_without_formulas(tenant, admin, admin_client):
    _entry(tenant, admin, AuditKind.EXPORT, timezone.now(), "=HYPERLINK(1)")
    response = admin_client.get(reverse("audit_export", args=[tenant.slug]))
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK(1)" in text and "wang" in text


def test_only_admins_of_the_company_see_the_log(tenant, marketer_client, sales_client, outsider):
    for client in (marketer_client, sales_client):
        assert client.get(reverse("audit_log", args=[tenant.slug])).status_code == 403
    assert client_for(outsider).get(reverse("audit_log", args=[tenant.slug])).status_code == 404
