import pytest
from playwright.sync_api import expect

from crm.models import Contact
from tagging.models import Tag, TagGroup
from tests.e2e.conftest import log_in
from tests.factories import ContactFactory, MembershipFactory, TenantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_salesperson_moves_ticked_contacts_from_the_list(live_server, page):
    school = TenantFactory(slug="english-school", name="英语口语培训班")
    MembershipFactory(tenant=school, role="sales", user__username="zhao")
    group = TagGroup.objects.create(tenant=school, key="intent", label="意向")
    Tag.objects.create(tenant=school, group=group, key="high", label="高意向", label_key="高意向")
    wang = ContactFactory(tenant=school, name="王芳", stage="lead")
    ContactFactory(tenant=school, name="李娜", stage="lead")

    log_in(page, live_server, "zhao")
    page.goto(f"{live_server.url}/t/english-school/contacts/")
    page.check(f"input[name=ids][value='{wang.pk}']")
    page.select_option("#bulk-action", "move")
    page.select_option("#bulk-to-stage", "mql")
    # the tag picker of the same bar is left empty: moving needs no tag
    page.click("#bulk-form button.primary")

    expect(page.locator(".flash")).to_contain_text("Moved 1")
    stages = dict(Contact.objects.for_tenant(school).values_list("name", "stage"))
    assert stages == {"王芳": "mql", "李娜": "lead"}
