"""Fixtures: a company with an admin, a marketer and a salesperson, and an outsider elsewhere."""

import os
import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from tagging.models import Tag, TagGroup, name_key
from tests.factories import ContactFactory, MembershipFactory, TenantFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be usable.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Service-level messages in English unless a test chooses; requests choose their own."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with empty caches (ids are reused once a test's rows roll back)."""
    for each in caches.all():
        each.clear()
    yield
    for each in caches.all():
        each.clear()


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="english-school", name="英语口语培训班")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="rival-school", name="别家培训")


@pytest.fixture
def admin(tenant):
    return MembershipFactory(tenant=tenant, role="admin", user__username="wang")


@pytest.fixture
def marketer(tenant):
    return MembershipFactory(tenant=tenant, role="marketer", user__username="li")


@pytest.fixture
def sales(tenant):
    return MembershipFactory(tenant=tenant, role="sales", user__username="zhao")


@pytest.fixture
def outsider(other_tenant):
    """A member of another company: must never see, count or touch anything of `tenant`."""
    return MembershipFactory(tenant=other_tenant, role="admin", user__username="rival")


def logs_in(client: Client, username: str, password: str) -> bool:
    """Logs in through the login page, as a person does (and as the login throttle sees it)."""
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def client_for(membership, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(membership.user)
    return client


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


@pytest.fixture
def marketer_client(marketer):
    return client_for(marketer)


@pytest.fixture
def sales_client(sales):
    return client_for(sales)


@pytest.fixture
def outsider_client(outsider):
    return client_for(outsider)


@pytest.fixture
def contact(tenant, sales):
    return ContactFactory(
        tenant=tenant, name="张伟", phone="13800138000", email="zhangwei@qq.com", owner=sales
    )


@pytest.fixture
def foreign_contact(other_tenant):
    return ContactFactory(tenant=other_tenant, name="别人的客户", phone="13900000000")


def company_objects(tenant, member) -> dict:
    """One object of each kind a tenant URL can name, in `tenant`: for the cross-tenant walks."""
    from activities.models import Activity, AssignmentRule, AssignmentRuleMember, Task, TaskRule
    from audiences.models import Audience, AudienceSnapshot
    from crm.models import CustomField, Invitation, SavedView, Undo
    from grading.models import Tier
    from integrations.models import WebhookDelivery
    from integrations.services import api_token_create, webhook_endpoint_create
    from spreadsheets.models import ImportJob
    from tagging.models import EventKind, Rule, Tag, TagAlias, TagGroup

    group = TagGroup.objects.create(tenant=tenant, key="source", label=f"来源 {tenant.slug}")
    tag = Tag.objects.create(tenant=tenant, group=group, key="flyer", label=f"地推 {tenant.slug}",
                             label_key=f"地推 {tenant.slug}")  # fmt: skip
    contact = ContactFactory(tenant=tenant, name=f"客户 {tenant.slug}")
    assignment_rule = AssignmentRule.objects.create(tenant=tenant, tag=tag)
    AssignmentRuleMember.objects.create(tenant=tenant, rule=assignment_rule, member=member)
    return {
        "contact_id": contact.pk,
        "activity_id": Activity.objects.create(
            tenant=tenant, contact=contact, kind="call", author=member, text="回访"
        ).pk,
        "task_rule_id": TaskRule.objects.create(tenant=tenant, stage="sql", title="回电").pk,
        "assignment_rule_id": assignment_rule.pk,
        "tier_id": Tier.objects.create(tenant=tenant, name="金卡", threshold=5000).pk,
        "task_id": Task.objects.create(
            tenant=tenant, contact=contact, title="回电", due_at=timezone.now(), assignee=member
        ).pk,
        "other_id": ContactFactory(tenant=tenant, name=f"客户 {tenant.slug}").pk,
        "membership_id": member.pk,
        "group_id": group.pk,
        "tag_id": tag.pk,
        "alias_id": TagAlias.objects.create(
            tenant=tenant, tag=tag, name=f"传单 {tenant.slug}", name_key=f"传单 {tenant.slug}"
        ).pk,
        "rule_id": Rule.objects.create(
            tenant=tenant, name="付款", event_kind="payment_received", to_stage="customer"
        ).pk,
        "audience_id": (
            audience := Audience.objects.create(
                tenant=tenant, name=f"SQL+ {tenant.slug}", stages=["sql"]
            )
        ).pk,
        "snapshot_id": AudienceSnapshot.objects.create(
            tenant=tenant, audience=audience, name="campaign"
        ).pk,
        "job_id": ImportJob.objects.create(
            tenant=tenant, file_name="客户.csv", content=b"name,phone\n", kind="csv"
        ).pk,
        "token_id": api_token_create(tenant=tenant, actor=None, membership=member, name="form")[
            0
        ].pk,
        "endpoint_id": (
            endpoint := webhook_endpoint_create(
                tenant=tenant,
                actor=None,
                url="https://example.com/hook",
                events=["contact.created"],
            )
        ).pk,
        "delivery_id": WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            event="contact.created",
            contact_id=1,
            occurred_at=audience.created_at,
            status=WebhookDelivery.DELIVERED,
        ).pk,  # fmt: skip
        "invitation_id": Invitation.objects.create(
            tenant=tenant,
            user=UserFactory(),
            role="sales",
            expires_at=audience.created_at + timedelta(days=7),
        ).pk,
        # shared, so that only the company keeps it from another company's members
        "view_id": SavedView.objects.create(
            tenant=tenant,
            owner=member,
            name=f"本周试听 {tenant.slug}",
            shared=True,
            params={"stage": ["mql"]},
        ).pk,
        "field_id": CustomField.objects.create(
            tenant=tenant, key="xiao_qu", label=f"校区 {tenant.slug}", kind="text"
        ).pk,
        # pickers: the member's last bulk move, which they may undo for a short while
        "undo_id": Undo.objects.create(
            tenant=tenant,
            actor=member,
            kind="bulk_move",
            details={"to_stage": "mql"},
            expires_at=audience.created_at + timedelta(minutes=1),
        ).pk,
        # a kind of event of the company's own, by its key (one only this company has)
        "kind": EventKind.objects.create(
            tenant=tenant, key=f"visit-{tenant.slug}", label=f"到店 {tenant.slug}"
        ).key,
        # not an id: a stage key, the same in every company
        "stage": "lead",
    }


@pytest.fixture
def foreign_objects(outsider):
    return company_objects(outsider.tenant, outsider)


@pytest.fixture
def own_objects(tenant, sales):
    return company_objects(tenant, sales)


APP_ROLE = "funnel_test_app"


@pytest.fixture(scope="session")
def app_role_granted(django_db_setup, django_db_blocker):
    """The role is created and granted once per test database, committed: roles belong to the
    whole server, and a CREATE ROLE inside one worker's test transaction would hold the other
    worker's up to the end of that test."""
    from django.test import override_settings

    from crm.grants import grant_application_role

    with (
        django_db_blocker.unblock(),
        override_settings(DATABASE_APP_USER=APP_ROLE, DATABASE_APP_PASSWORD="not-used"),
    ):
        grant_application_role(using="default")


@pytest.fixture
def as_app_role(settings, app_role_granted, db):
    """Switches this test's connection to a role like the application's: no table of its own,
    no BYPASSRLS, so row-level security applies (the suite otherwise runs as the owner).
    Call it after the fixtures have written what the test needs."""
    from django.db import connection

    settings.DATABASE_APP_USER, settings.DATABASE_APP_PASSWORD = APP_ROLE, "not-used"

    def switch() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{APP_ROLE}"')

    return switch


def eventually(check, timeout: float = 30.0) -> bool:
    """Asks `check` every 0.2 s until it holds or `timeout` seconds pass: for work another
    process (a real Celery worker) does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.fixture
def make_tag(tenant):
    """make_tag("来源", "地推") → the tag, creating its group when needed."""

    def _make(group_label: str, label: str, *, single_choice: bool = False, on=None) -> Tag:
        group, _ = TagGroup.objects.get_or_create(
            tenant=on or tenant,
            label=group_label,
            defaults={"single_choice": single_choice, "key": group_label},
        )
        return Tag.objects.create(
            tenant=on or tenant, group=group, key=label, label=label, label_key=name_key(label)
        )

    return _make
