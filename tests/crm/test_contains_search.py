"""A salesperson finds a customer by any part of what they remember: 小雨 for 林小雨, a piece of
the company's name, of the email, the WeChat ID or the notes, the phone's last digits; never
another company's."""

import pytest
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse

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
        except ProgrammingError:
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
