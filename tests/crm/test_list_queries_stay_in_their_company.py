"""Every list that grows with the company (contacts in each sort, the board, audience members,
webhook deliveries, the audit log, the API's lists) is bounded by its page at any company size
and any place in the id range: its query pages along an index that leads with the company and
gives the order, never walking the primary key or another index and throwing away the other
companies' rows, which costs more with every company added. Read from PostgreSQL's EXPLAIN with
sequential scans and sorts priced out, so that the plan says which ordered path exists rather
than what the planner guesses for a test's tiny tables. (Lists bounded by a company's own few
rows, such as members, tags and rules, are not asked: no index gives their order.)"""

import json
import re

import pytest
from django.db import connection, transaction
from django.urls import reverse

from crm.models import Contact
from crm.selectors import CONTACT_SORTS
from tagging.models import ContactTag, Tag, TagGroup, name_key
from tests.crm.test_list_pages_queries import PAGES, queries
from tests.factories import ContactFactory, MembershipFactory
from tests.integrations.conftest import ApiClient, token_for


def scans_that_throw_rows_away(sql: str) -> list[str]:
    """The scans of `sql`'s plan that filter on the company instead of starting from it."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = []

    def walk(node: dict) -> None:
        reached = " ".join(node.get(key, "") for key in ("Index Cond", "Recheck Cond"))
        grows = node.get("Relation Name") in GROWING
        if grows and "tenant_id" in node.get("Filter", "") and "tenant_id" not in reached:
            found.append(f"{node['Node Type']} on {node.get('Relation Name')}: "
                         f"{node.get('Index Name', '')} filter {node['Filter']}")  # fmt: skip
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


# The tables checked: those the fixture fills at size (a test's few rows of any other table leave
# the planner guessing). Contacts are where a company's size shows first.
GROWING = {"crm_contact", "tagging_contacttag"}

# One row by its id (then checked for its company) is a lookup, not a list: no walk to bound.
BY_ID = re.compile(r'WHERE \(?"\w+"\."tenant_id" = \d+ AND "\w+"\."id" = \d+\)? LIMIT')


def offenders(sqls: list[str]) -> list[str]:
    lists = [sql for sql in sqls if sql.lstrip().startswith("SELECT") and not BY_ID.search(sql)]
    return [f"{scan}\n  in {sql}" for sql in lists for scan in scans_that_throw_rows_away(sql)]


@pytest.fixture
def two_companies(tenant, admin, other_tenant):
    """Many rows of another company, then a hundredth as many of this one (with higher ids, as a
    company that joined later has), analysed: the planner weighs its choices as it does at size,
    where walking the primary key and skipping the other company's rows looks cheap and is not."""
    owner = MembershipFactory(tenant=other_tenant)
    contacts = Contact.objects.bulk_create(
        ContactFactory.build(tenant=other_tenant, owner=owner) for _ in range(3000)
    )
    ours = MembershipFactory(tenant=tenant)
    Contact.objects.bulk_create(ContactFactory.build(tenant=tenant, owner=ours) for _ in range(30))
    groups = TagGroup.objects.bulk_create(
        TagGroup(tenant=other_tenant, key=f"g{i}", label=f"组{i}") for i in range(30)
    )
    tags = Tag.objects.bulk_create(
        Tag(tenant=other_tenant, group=group, key=f"t{i}", label=f"标签{i}",
            label_key=name_key(f"标签{i}"))
        for i, group in enumerate(groups * 10)
    )  # fmt: skip
    ContactTag.objects.bulk_create(
        ContactTag(tenant=other_tenant, contact=contact, tag=tags[i % len(tags)])
        for i, contact in enumerate(contacts)
    )
    with connection.cursor() as cursor:
        # Rows the suite's earlier tests wrote and rolled back leave the indexes bloated; the
        # planner would weigh that, not what the indexes hold. Rebuilt here (rolled back after).
        for table in GROWING:
            cursor.execute(f"REINDEX TABLE {table}")
        cursor.execute("ANALYZE")


@pytest.mark.parametrize("page", ["audience-members", "webhook-deliveries", "audit-log"])
def test_a_list_page_starts_from_its_company(admin_client, tenant, admin, two_companies, page):
    add, url_of = PAGES[page]
    add(tenant, admin, 5)
    assert offenders(queries(admin_client, url_of(tenant))) == []


@pytest.mark.parametrize("sort", CONTACT_SORTS)
def test_the_contact_list_starts_from_its_company_in_every_sort(
    admin_client, tenant, two_companies, sort
):
    url = reverse("contact_list", args=[tenant.slug]) + f"?sort={sort}"
    assert offenders(queries(admin_client, url)) == []


def test_the_board_starts_from_its_company(admin_client, tenant, two_companies):
    assert offenders(queries(admin_client, reverse("board", args=[tenant.slug]))) == []


@pytest.mark.parametrize("path", ["/contacts", "/contacts?limit=2", "/audiences"])
def test_the_api_lists_start_from_their_company(tenant, admin, two_companies, path):
    client = ApiClient(token_for(admin))
    assert offenders(queries(client, path)) == []


def prefix_indexes_used(sql: str) -> set[str]:
    """The *_prefix indexes `sql`'s plan seeks (sequential scans priced out; sorts allowed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = set()

    def walk(node: dict) -> None:
        if node.get("Index Name", "").endswith("_prefix") and "Index Cond" in node:
            found.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def test_a_search_seeks_the_prefix_indexes_under_row_level_security(
    admin_client, tenant, two_companies, as_app_role
):
    """The app's role is under row-level security, which checks the company's policy before any
    condition that is not leakproof. A LIKE is not: its search read every contact of the company
    (160 ms of database CPU a search at 600,000 contacts). starts_with() is, and seeks."""
    as_app_role()
    url = reverse("contact_list", args=[tenant.slug]) + "?q=13912"
    searches = [sql for sql in queries(admin_client, url)
                if sql.lstrip().startswith('SELECT "crm_contact"') and "13912" in sql]  # fmt: skip
    assert len(searches) == 1
    used = prefix_indexes_used(searches[0])
    assert {"contact_tenant_name_prefix", "contact_tenant_phone_prefix"} <= used, used


def test_a_search_by_the_phones_last_digits_seeks_its_own_index(
    admin_client, tenant, two_companies, as_app_role
):
    """尾号 9371: the phone written backwards is a prefix, which starts_with() seeks."""
    as_app_role()
    url = reverse("contact_list", args=[tenant.slug]) + "?q=尾号9371"
    searches = [sql for sql in queries(admin_client, url)
                if sql.lstrip().startswith('SELECT "crm_contact"') and "1739" in sql]  # fmt: skip
    assert len(searches) == 1
    assert "contact_tenant_tail_prefix" in prefix_indexes_used(searches[0])
