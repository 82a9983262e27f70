"""A salesperson finds a customer by any part of what they remember: 小雨 for 林小雨, a piece of
the company's name, of the email, the WeChat ID or the notes, the phone's last digits; never
another company's. And the header's search box finds contacts, tags and audiences at once."""

import pytest
from django.db import OperationalError, ProgrammingError, connection, transaction
from django.urls import reverse

from audiences.services import audience_save
from crm import selectors
from crm.models import Contact, ContactText
from crm.scope import tenant_scope
from crm.selectors import ContactFilters, contact_ids_containing, contacts_matching
from lifecycle.services import contact_stage_move
from tests.factories import ContactFactory


def list_names(client, tenant, q: str) -> list[str]:
    response = client.get(reverse("contact_list", args=[tenant.slug]), {"q": q})
    assert response.status_code == 200
    return sorted(row.name for row in response.context["page"].items)


@pytest.fixture
def customers(tenant):
    """Four of our customers, each remembered by a different part of them."""
    ContactFactory(tenant=tenant, name="林小雨", phone="13812349371")
    ContactFactory(tenant=tenant, name="王小明", company="上海星辰科技有限公司")
    ContactFactory(
        tenant=tenant, name="陈静", email="chen.jing88@163.com", wechat_id="wx_jingjing_sh"
    )
    ContactFactory(tenant=tenant, name="赵敏", notes="下周三回访，对私教课感兴趣")


@pytest.mark.parametrize(
    "q, found",
    [
        ("小雨", ["林小雨"]),  # two characters, inside the name
        ("星辰科技", ["王小明"]),  # inside the company
        ("jing88", ["陈静"]),  # inside the email
        ("JingJing", ["陈静"]),  # inside the WeChat ID, any case
        ("私教课", ["赵敏"]),  # inside the notes
        ("ｊｉｎｇ８８", ["陈静"]),  # typed in full width
        ("尾号 9371", ["林小雨"]),  # the phone's last digits
        ("小雪", []),
    ],
)
def test_a_salesperson_finds_a_customer_by_any_part_they_remember(
    sales_client, tenant, customers, q, found
):
    assert list_names(sales_client, tenant, q) == found


def test_a_prefix_still_finds_and_one_character_matches_only_the_start(
    sales_client, tenant, customers
):
    assert list_names(sales_client, tenant, "林") == ["林小雨"]
    assert list_names(sales_client, tenant, "雨") == []  # one character: too many would match


def test_another_companys_contacts_are_never_found_nor_counted(
    sales_client, tenant, other_tenant, customers
):
    ContactFactory(tenant=other_tenant, name="周小雨", company="别家星辰科技")
    assert list_names(sales_client, tenant, "小雨") == ["林小雨"]
    assert list_names(sales_client, tenant, "星辰") == ["王小明"]
    count = sales_client.get(reverse("contact_count", args=[tenant.slug]), {"q": "小雨"})
    assert count.context["total"].count == 1
    with tenant_scope(tenant):  # the index's answer itself holds only our company's ids
        ours = set(Contact.objects.for_tenant(tenant).values_list("pk", flat=True))
        assert set(contact_ids_containing(tenant=tenant, term="小雨")) <= ours


def test_the_search_follows_every_edit_and_delete(sales_client, tenant, customers):
    chen = Contact.objects.for_tenant(tenant).get(name="陈静")
    chen.notes = "想报周末班"
    chen.save()
    assert list_names(sales_client, tenant, "周末班") == ["陈静"]
    Contact.objects.for_tenant(tenant).filter(pk=chen.pk).update(company="杭州远航贸易")
    assert list_names(sales_client, tenant, "远航") == ["陈静"]
    Contact.objects.for_tenant(tenant).filter(pk=chen.pk).delete()
    assert list_names(sales_client, tenant, "远航") == []
    assert not ContactText.objects.for_tenant(tenant).filter(contact_id=chen.pk).exists()


def test_a_stage_move_leaves_the_search_text_alone(tenant, admin, customers):
    """A move rewrites the contact's row; the text's row (and its index) stay as they were."""
    lin = Contact.objects.for_tenant(tenant).get(name="林小雨")

    def text_row_version() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT xmin::text FROM crm_contacttext WHERE contact_id = %s", [lin.pk])
            return cursor.fetchone()[0]

    before = text_row_version()
    contact_stage_move(contact=lin, actor=admin, to_stage="lead")
    assert text_row_version() == before


def test_a_term_too_common_to_fetch_by_id_finds_the_same_contacts(
    sales_client, tenant, customers, monkeypatch
):
    ContactFactory(tenant=tenant, name="吴小雨")
    monkeypatch.setattr(selectors, "CONTAINS_SEEK_LIMIT", 1)  # two matches: "too many"
    assert list_names(sales_client, tenant, "小雨") == ["吴小雨", "林小雨"]


def test_a_key_most_contacts_hold_is_not_read_from_the_index(tenant, customers):
    """科技 in every company name: the index's statistics say so, and the function answers "too
    many" without reading the matches (the list then reads rows in its own order)."""
    Contact.objects.bulk_create(
        ContactFactory.build(tenant=tenant, company=f"星辰科技{i}") for i in range(40)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_contacttext")
    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT searched_tenant, ids FROM crm_contacts_containing('科技', 11)")
        assert cursor.fetchone() == (tenant.pk, None)
        cursor.execute("SELECT searched_tenant, ids FROM crm_contacts_containing('星辰科技1', 11)")
        assert cursor.fetchone()[1] is not None  # several keys: read from the index, exactly


def test_a_connection_set_to_no_company_still_finds_by_reading_the_rows(tenant, customers):
    """As the owner in a shell or a data migration: the index's function answers nothing
    without a company set, and the search reads the rows instead."""
    found = contacts_matching(tenant=tenant, filters=ContactFilters(q="星辰"), viewer=None)
    assert [c.name for c in found] == ["王小明"]


def nested_plans() -> list[str]:
    """From here to the test's end, the plans PostgreSQL runs inside functions are sent to us
    (auto_explain, loaded as the owner) and added to the list returned."""
    plans: list[str] = []
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("LOAD 'auto_explain'")
        except (ProgrammingError, OperationalError):  # "could not access file": not installed
            pytest.skip("this PostgreSQL has no auto_explain (the embedded one; CI's has)")
        for setting in ("log_min_duration = 0", "log_nested_statements = on",
                        "log_level = notice"):  # fmt: skip
            cursor.execute(f"SET LOCAL auto_explain.{setting}")
    connection.connection.add_notice_handler(lambda notice: plans.append(notice.message_primary))
    return plans


def test_under_row_level_security_the_search_seeks_the_grams_index(
    admin_client, tenant, customers, as_app_role
):
    """The app's role cannot seek the index itself: `@>` is not leakproof, so PostgreSQL checks
    the company's policy first and reads every row. The search function runs as the owner, for
    the connection's company only, and seeks it; the list then seeks the ids it gave."""
    # enough of the company for the planner to weigh an index against reading its rows
    Contact.objects.bulk_create(ContactFactory.build(tenant=tenant) for _ in range(2000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_contact")
        cursor.execute("ANALYZE crm_contacttext")
        cursor.execute("SET LOCAL enable_seqscan = off")
    plans = nested_plans()
    as_app_role()
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT contact_id FROM crm_contacttext"
            " WHERE crm_text_grams(tenant_id, body) @> crm_text_grams(%s, '小雨')",
            [tenant.pk],
        )
        direct = "\n".join(row[0] for row in cursor.fetchall())
    assert "contacttext_grams" not in direct  # the wall the function goes round

    admin_client.get(reverse("contact_list", args=[tenant.slug]), {"q": "小雨"})
    inside = [plan for plan in plans if "crm_contacttext t" in plan]
    assert len(inside) == 1 and "Bitmap Index Scan on contacttext_grams" in inside[0]

    with tenant_scope(tenant):  # the ids it gave are sought, under row-level security too
        ids = contact_ids_containing(tenant=tenant, term="小雨")
        seek = Contact.objects.for_tenant(tenant).filter(pk__among=ids).values("pk")
        sql, params = seek.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    assert len(ids) == 1
    assert [line for line in plan.splitlines() if "Index Cond" in line and "id = ANY ($0)" in line]


def test_the_search_function_answers_only_the_app_role_and_the_owner(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE'),"
            " r.rolsuper OR r.rolbypassrls FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner"
            " WHERE p.proname = 'crm_contacts_containing'"
        )
        definer, config, anyone, owner_passes_rls = cursor.fetchone()
    assert definer and config == ["search_path=public, pg_temp"]
    assert not anyone and owner_passes_rls


# --- the header's search ---------------------------------------------------------------------


@pytest.fixture
def findable(tenant, admin, make_tag, customers):
    """A contact, a tag (by an alias too) and an audience that all answer to 星辰."""
    tag = make_tag("来源", "星辰展会")
    tag.aliases.create(tenant=tenant, name="星展", name_key="星展")
    audience_save(tenant=tenant, actor=admin, name="星辰老客户", gate="at_or_past",
                  stages=["lead"])  # fmt: skip
    return tag


def search_page(client, tenant, q: str):
    response = client.get(reverse("search", args=[tenant.slug]), {"q": q})
    assert response.status_code == 200
    return response


def test_one_box_finds_contacts_tags_and_audiences(admin_client, tenant, findable):
    html = search_page(admin_client, tenant, "星辰").content.decode()
    assert "王小明" in html and "星辰展会" in html and "星辰老客户" in html
    contact = Contact.objects.for_tenant(tenant).get(name="王小明")
    assert reverse("contact_detail", args=[tenant.slug, contact.pk]) in html
    assert f"/t/{tenant.slug}/contacts/?q=%E6%98%9F%E8%BE%B0" in html  # the list, searched
    assert f"/t/{tenant.slug}/contacts/?tag_any={findable.pk}" in html
    assert reverse("audience_list", args=[tenant.slug]) in html


def test_a_tag_is_found_by_its_alias(sales_client, tenant, findable):
    html = search_page(sales_client, tenant, "星展").content.decode()
    assert "星辰展会" in html


def test_sales_see_no_audiences_in_the_search(sales_client, tenant, findable):
    html = search_page(sales_client, tenant, "星辰").content.decode()
    assert "王小明" in html and "星辰展会" in html
    assert "星辰老客户" not in html and 'id="search-audiences"' not in html


def test_the_contacts_section_shows_ten_and_links_to_the_rest(sales_client, tenant):
    ContactFactory.create_batch(11, tenant=tenant, company="远航贸易")
    response = search_page(sales_client, tenant, "远航")
    panel = next(p for p in response.context["panels"] if p.template.endswith("contacts.html"))
    assert len(panel.context["contacts"]) == 10 and panel.context["more"] is True
    assert "All matching contacts in the contact list" in response.content.decode()


def test_the_search_never_shows_another_companys_contacts_tags_or_audiences(
    admin_client, tenant, other_tenant, outsider, make_tag, findable
):
    ContactFactory(tenant=other_tenant, name="别家星辰客户", company="星辰")
    make_tag("来源", "星辰别家", on=other_tenant)
    audience_save(tenant=other_tenant, actor=outsider, name="星辰别家名单", gate="at_or_past",
                  stages=["lead"])  # fmt: skip
    html = search_page(admin_client, tenant, "星辰").content.decode()
    assert "别家" not in html


def test_the_search_page_of_another_company_is_not_found(outsider_client, tenant, findable):
    response = outsider_client.get(reverse("search", args=[tenant.slug]), {"q": "星辰"})
    assert response.status_code == 404


def test_an_empty_search_shows_the_box_and_what_to_type(sales_client, tenant):
    response = search_page(sales_client, tenant, "  ")
    assert response.context["panels"] == []
    assert 'id="search-q"' in response.content.decode()


def test_htmx_gets_only_the_results(sales_client, tenant, findable):
    response = sales_client.get(
        reverse("search", args=[tenant.slug]), {"q": "星辰"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "王小明" in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_every_company_page_has_the_header_box(sales_client, tenant):
    html = sales_client.get(reverse("contact_list", args=[tenant.slug])).content.decode()
    assert f'action="{reverse("search", args=[tenant.slug])}"' in html
    assert 'id="header-q"' in html


def test_the_search_page_costs_the_same_queries_for_many_matches(
    admin_client, tenant, findable, django_assert_num_queries
):
    search_page(admin_client, tenant, "星辰")  # the stage names read once, then kept
    # session, user, scope cleared, memberships, company set; the search function; the tag the
    # term may name (by label, by alias); the contacts; the tags; the audiences; the header's
    # task and notification counts
    with django_assert_num_queries(12):
        search_page(admin_client, tenant, "星辰")
    ContactFactory.create_batch(20, tenant=tenant, company="星辰")
    with django_assert_num_queries(12):
        search_page(admin_client, tenant, "星辰")
