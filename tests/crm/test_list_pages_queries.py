"""Every list page costs the same number of queries for a few rows as for many: nothing is
looked up once a row (members, imports, audiences and their members, webhook deliveries, rules,
tags, the audit log). The contact list and the board have their own such tests."""

import itertools

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.models import Audience
from audiences.services import audience_recompute, audience_save
from crm.audit import audit_record
from crm.models import AuditKind
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_endpoint_create
from spreadsheets.models import ImportJob
from tagging.models import Tag, TagGroup, name_key
from tagging.rules import rule_save
from tests.factories import ContactFactory, MembershipFactory

NUMBERS = itertools.count()  # names stay unique however often rows are added


def members(tenant, admin, n):
    for _ in range(n):
        MembershipFactory(tenant=tenant, role="sales")


def imports(tenant, admin, n):
    for i in itertools.islice(NUMBERS, n):
        ImportJob.objects.create(tenant=tenant, created_by=MembershipFactory(tenant=tenant),
                                 file_name=f"客户{i}.csv", content=b"", status=ImportJob.DONE,
                                 total=1, done=1, created=1)  # fmt: skip


def audiences(tenant, admin, n):
    for i in itertools.islice(NUMBERS, n):
        audience_save(tenant=tenant, actor=admin, name=f"名单{i}", gate="at_or_past",
                      stages=["lead"])  # fmt: skip


def audience_members(tenant, admin, n):
    ContactFactory.create_batch(
        n, tenant=tenant, stage="sql", owner=MembershipFactory(tenant=tenant)
    )
    audience = Audience.objects.for_tenant(tenant).first() or audience_save(
        tenant=tenant, actor=admin, name="优惠券", gate="at_or_past", stages=["sql"]
    )
    audience_recompute(audience=audience)


def deliveries(tenant, admin, n):
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).first() or webhook_endpoint_create(
        tenant=tenant, actor=admin, url="https://example.com/hook", events=["contact.created"]
    )
    for contact in ContactFactory.create_batch(n, tenant=tenant):
        WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event="contact.created", contact_id=contact.pk,
            occurred_at=contact.created_at,
        )  # fmt: skip


def rules(tenant, admin, n):
    for i in itertools.islice(NUMBERS, n):
        rule_save(tenant=tenant, actor=admin, name=f"规则{i}", event_kind="consultation_call",
                  to_stage="sql")  # fmt: skip


def tags(tenant, admin, n):
    for i in itertools.islice(NUMBERS, n):
        group = TagGroup.objects.create(tenant=tenant, key=f"g{i}", label=f"组{i}")
        Tag.objects.create(tenant=tenant, group=group, key=f"t{i}", label=f"标签{i}",
                           label_key=name_key(f"标签{i}"))  # fmt: skip


def audit(tenant, admin, n):
    for i in itertools.islice(NUMBERS, n):
        audit_record(tenant=tenant, actor=MembershipFactory(tenant=tenant),
                     kind=AuditKind.EXPORT, subject=f"导出{i}", count=i)  # fmt: skip


def audience_url(tenant):
    audience = Audience.objects.for_tenant(tenant).first()
    return reverse("audience_detail", args=[tenant.slug, audience.pk])


def endpoint_url(tenant):
    endpoint = WebhookEndpoint.objects.for_tenant(tenant).first()
    return reverse("webhook_endpoint_detail", args=[tenant.slug, endpoint.pk])


PAGES = {
    "members": (members, lambda t: reverse("member_list", args=[t.slug])),
    "imports": (imports, lambda t: reverse("import_list", args=[t.slug])),
    "audiences": (audiences, lambda t: reverse("audience_list", args=[t.slug])),
    "audience-members": (audience_members, audience_url),
    "webhook-deliveries": (deliveries, endpoint_url),
    "rules": (rules, lambda t: reverse("rule_list", args=[t.slug])),
    "tags": (tags, lambda t: reverse("tag_settings", args=[t.slug])),
    "audit-log": (audit, lambda t: reverse("audit_log", args=[t.slug])),
}


def queries(client, path) -> list[str]:
    cache.clear()  # stage labels and the like are cached after the first page: count them
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("page", PAGES)
def test_a_list_page_costs_the_same_queries_for_3_rows_or_30(admin_client, tenant, admin, page):
    add, url_of = PAGES[page]
    add(tenant, admin, 3)
    few = queries(admin_client, url_of(tenant))
    add(tenant, admin, 27)
    many = queries(admin_client, url_of(tenant))
    assert len(many) == len(few), "\n".join(many)
