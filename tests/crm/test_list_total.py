"""The contact list says how many contacts it holds, and a page view never counts the company
for it: the whole list on one page counts itself, the stored counts answer an unfiltered list
(or one narrowed by stage and status only), and a filtered list is counted when the person
asks, up to 10,000 ("10,000+" beyond)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from crm import selectors
from crm.selectors import ContactTotal
from lifecycle.analytics import funnel_recompute
from tests.factories import ContactFactory


def list_url(tenant) -> str:
    return reverse("contact_list", args=[tenant.slug])


def count_url(tenant) -> str:
    return reverse("contact_count", args=[tenant.slug])


def contact_counts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if "COUNT(" in q["sql"].upper() and "crm_contact" in q["sql"]]  # fmt: skip


@pytest.fixture
def small_pages(settings):
    settings.CONTACTS_PAGE_SIZE = 2


def test_an_unfiltered_list_shows_its_total_from_the_stored_counts(
    sales_client, tenant, small_pages
):
    ContactFactory.create_batch(3, tenant=tenant, stage="lead")
    ContactFactory.create_batch(2, tenant=tenant, stage="customer", status="lost")
    funnel_recompute(tenant=tenant)
    ContactFactory(tenant=tenant)  # added since: the stored counts say so once recomputed
    with CaptureQueriesContext(connection) as queries:
        html = sales_client.get(list_url(tenant)).content.decode()
    assert '<span class="list-total" id="list-total">5 contacts</span>' in html
    assert contact_counts(queries) == []
    funnel_recompute(tenant=tenant)
    assert "6 contacts" in sales_client.get(list_url(tenant)).content.decode()


def test_a_stage_or_status_filter_reads_the_stored_count_of_that_stage(
    sales_client, tenant, small_pages
):
    ContactFactory.create_batch(3, tenant=tenant, stage="lead")
    ContactFactory.create_batch(2, tenant=tenant, stage="lead", status="lost")
    ContactFactory.create_batch(4, tenant=tenant, stage="customer")
    funnel_recompute(tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        lead = sales_client.get(list_url(tenant), {"stage": "lead"}).content.decode()
        active = sales_client.get(list_url(tenant), {"status": "active"}).content.decode()
        both = sales_client.get(list_url(tenant), {"stage": "lead", "status": "lost"})
    assert "5 contacts" in lead and "7 contacts" in active
    assert "2 contacts" in both.content.decode()
    assert contact_counts(queries) == []


def test_a_list_on_one_page_counts_its_own_rows(sales_client, tenant):
    ContactFactory(tenant=tenant, name="李娜")
    ContactFactory(tenant=tenant, name="李雷")
    ContactFactory(tenant=tenant, name="王芳")
    with CaptureQueriesContext(connection) as queries:
        html = sales_client.get(list_url(tenant), {"q": "李"}).content.decode()
    assert '<span class="list-total" id="list-total">2 contacts</span>' in html
    assert contact_counts(queries) == []


def test_a_filtered_list_is_counted_when_asked(sales_client, tenant, sales, small_pages):
    ContactFactory.create_batch(3, tenant=tenant, owner=sales)
    ContactFactory.create_batch(2, tenant=tenant)
    funnel_recompute(tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        html = sales_client.get(list_url(tenant), {"owner": "me"}).content.decode()
    assert contact_counts(queries) == []
    assert f'hx-get="{count_url(tenant)}?owner=me&amp;sort=-created"' in html
    assert ">Count</button>" in html
    with CaptureQueriesContext(connection) as queries:
        response = sales_client.get(count_url(tenant), {"owner": "me"}, HTTP_HX_REQUEST="true")
    assert response.content.decode().strip() == (
        '<span class="list-total" id="list-total">3 contacts</span>'
    )
    (counted,) = contact_counts(queries)
    assert "LIMIT 10001" in counted  # a bounded count, never the whole company


def test_a_count_beyond_ten_thousand_says_more(sales_client, tenant, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 3)
    ContactFactory.create_batch(4, tenant=tenant, name="客户")
    html = sales_client.get(count_url(tenant), {"q": "客户"}).content.decode()
    assert ">3+ contacts<" in html
    assert ">10,000+ contacts<" in render_to_string(
        "crm/partials/contact_total.html", {"total": ContactTotal(10_000, more=True)}
    )
    # numbers as the rest of the app writes them in Chinese (Django's zh_Hans: no separator)
    with translation.override("zh-hans"):
        chinese = render_to_string(
            "crm/partials/contact_total.html", {"total": ContactTotal(10_000, more=True)}
        )
        one = render_to_string("crm/partials/contact_total.html", {"total": ContactTotal(1)})
    assert ">超过 10000 位联系人<" in chinese and ">1 位联系人<" in one


def test_the_count_is_of_this_company_only(sales_client, outsider_client, tenant, other_tenant):
    ContactFactory.create_batch(2, tenant=tenant, name="王芳")
    ContactFactory.create_batch(3, tenant=other_tenant, name="王芳")
    funnel_recompute(tenant=other_tenant)
    html = sales_client.get(count_url(tenant), {"q": "王"}).content.decode()
    assert ">2 contacts<" in html
    # this company has no stored counts yet: another company's are never read for it
    assert ">2 contacts<" in sales_client.get(count_url(tenant)).content.decode()
    assert outsider_client.get(count_url(tenant), {"q": "王"}).status_code == 404


def test_counting_costs_the_same_queries_for_few_or_many(
    sales_client, tenant, sales, django_assert_num_queries
):
    ContactFactory.create_batch(3, tenant=tenant, owner=sales)
    # session, user, database scope (person, then company), the person's memberships, the
    # count
    with django_assert_num_queries(6):
        sales_client.get(count_url(tenant), {"owner": "me"})
    ContactFactory.create_batch(30, tenant=tenant, owner=sales)
    with django_assert_num_queries(6):
        sales_client.get(count_url(tenant), {"owner": "me"})


def page_queries(client, url) -> list[str]:
    cache.clear()  # the stage labels and the like are cached after the first page: count them
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return [q["sql"] for q in queries.captured_queries]


def test_a_list_of_many_pages_reads_the_stored_counts_in_one_query(
    sales_client, tenant, sales, settings
):
    ContactFactory.create_batch(3, tenant=tenant, owner=sales)
    funnel_recompute(tenant=tenant)
    one_page = page_queries(sales_client, list_url(tenant))  # counts its rows: no query
    settings.CONTACTS_PAGE_SIZE = 2
    few = page_queries(sales_client, list_url(tenant))
    ContactFactory.create_batch(30, tenant=tenant, owner=sales)
    many = page_queries(sales_client, list_url(tenant))
    # what a one-page list costs (tests/crm/test_contacts.py counts it), and the stored counts
    assert len(few) == len(many) == len(one_page) + 1
    stored = [[sql for sql in page if "lifecycle_funnelcount" in sql]
              for page in (one_page, few, many)]  # fmt: skip
    assert [len(found) for found in stored] == [0, 1, 1]
