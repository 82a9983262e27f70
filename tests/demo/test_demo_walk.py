"""A newcomer's first clicks: the demo, seeded as `make run` seeds it, walked by each demo user in
both languages. Any server error fails the test and names the page."""

import io
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve

from activities.models import Activity, Task
from crm.models import Contact, ContactCustomValue, CustomField, Tenant
from crm.scope import tenant_scope
from demo.management.commands.seed_demo import DEMO_PASSWORD
from lifecycle.models import StageChange
from tagging.models import ContactTag, Event
from tests.conftest import logs_in
from tests.crawl import crawl

LANGUAGES = ("zh-hans", "en")


def seed_demo() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def signed_in(username: str, language: str) -> Client:
    client = Client()
    assert logs_in(client, username, DEMO_PASSWORD)
    client.post("/accounts/language/", {"language": language})
    return client


def server_errors(username: str, *, limit: int) -> tuple[list[str], set[str]]:
    """Every 5xx met on a walk in each language, and the names of the pages visited."""
    failures, visited = [], set()
    for language in LANGUAGES:
        visits = crawl(signed_in(username, language), "/", limit=limit)
        visited |= {page_name(v.url) for v in visits}
        failures += [
            f"{language} {'htmx ' if v.htmx else ''}{v.url} -> {v.status} {v.error}"
            for v in visits
            if v.status >= 500
        ]
    return failures, visited


def rows_of_every_company() -> dict:
    counts = {Tenant: Tenant.objects.count()}
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            for model in (Contact, StageChange, Event, ContactTag, Activity, Task):
                counts[model] = counts.get(model, 0) + model.objects.for_tenant(tenant).count()
    return counts


def page_name(url: str) -> str:
    try:
        return resolve(urlsplit(url).path).url_name
    except Resolver404:
        return url


EVERYONE_REACHES = {
    "dashboard", "dashboard_recent", "funnel_panel", "contact_list", "contact_detail",
    "contact_edit", "contact_timeline", "contact_duplicates", "board", "board_column",
    "my_tasks", "contact_task_add",
}  # fmt: skip
MARKETING_REACHES = {
    "audience_list", "audience_detail", "audience_export", "contacts_export", "import_list",
}  # fmt: skip
ADMIN_REACHES = {
    "tenant_settings", "member_list", "stage_settings", "tag_settings", "tag_edit", "rule_list",
    "rule_edit", "api_settings",
}  # fmt: skip


@pytest.mark.parametrize(
    "username, reaches",
    [
        ("wang", EVERYONE_REACHES | MARKETING_REACHES | ADMIN_REACHES),
        ("li", EVERYONE_REACHES | MARKETING_REACHES),
        ("zhao", EVERYONE_REACHES),
    ],
)
def test_every_page_a_demo_user_reaches_answers_without_a_server_error(
    db, username, reaches, as_app_role
):
    as_app_role()  # as `make run` connects: row-level security on, the seeder included
    seed_demo()

    failures, visited = server_errors(username, limit=200)

    assert not failures, "\n".join(failures)
    assert reaches <= visited  # the walk went through the app, not just its first page


def test_seeding_the_demo_again_adds_nothing_and_every_page_still_works(db, as_app_role):
    as_app_role()
    seed_demo()
    counts = rows_of_every_company()
    assert counts[Contact] > 2000
    assert counts[Activity] > counts[Contact] // 2  # the timelines read like a sales week
    assert counts[Task] > counts[Contact] // 10  # and "my tasks" has a day's work in it
    school = Tenant.objects.get(slug="english-school")
    with tenant_scope(school):  # its own fields, filled: the list finds people by them
        fields = {f.label: f for f in CustomField.objects.for_tenant(school)}
        assert set(fields) == {"生日", "校区", "年级", "课程顾问"}
        held = ContactCustomValue.objects.for_tenant(school).values("field").distinct().count()
        assert held == 4

    second = seed_demo()

    assert rows_of_every_company() == counts
    assert "0 new contacts" in second
    failures, _ = server_errors("wang", limit=120)
    assert not failures, "\n".join(failures)
