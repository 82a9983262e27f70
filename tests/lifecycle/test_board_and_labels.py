"""The board, and the stage names an admin gives: shown everywhere, never changing the keys."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from crm.models import Contact
from lifecycle.analytics import funnel_recompute
from lifecycle.models import FunnelCount, FunnelStats, StageSetting
from tests.factories import ContactFactory


def test_the_board_shows_seven_columns_with_counts_and_cards(sales_client, tenant, sales):
    ContactFactory(tenant=tenant, name="甲", stage="lead", owner=sales)
    ContactFactory(tenant=tenant, name="乙", stage="lead")
    ContactFactory(tenant=tenant, name="丙", stage="customer", status="lost")
    funnel_recompute(tenant=tenant)
    response = sales_client.get(reverse("board", args=[tenant.slug]))
    html = response.content.decode()
    assert [c["stage"] for c in response.context["columns"]] == [
        "subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"
    ]  # fmt: skip
    counts = {c["stage"]: c["count"] for c in response.context["columns"]}
    assert counts["lead"] == 2 and counts["customer"] == 0
    assert "甲" in html and "乙" in html and "丙" not in html
    mine = sales_client.get(reverse("board", args=[tenant.slug]), {"owner": "me"})
    assert {c["stage"]: c["count"] for c in mine.context["columns"]}["lead"] == 1
    assert "乙" not in mine.content.decode()


def test_board_columns_load_more_on_demand(sales_client, tenant):
    for i in range(25):
        ContactFactory(tenant=tenant, name=f"线索{i:02d}", stage="lead")
    board = sales_client.get(reverse("board", args=[tenant.slug]))
    lead = next(c for c in board.context["columns"] if c["stage"] == "lead")
    assert len(lead["page"].items) == 20 and lead["page"].has_next
    more = sales_client.get(
        reverse("board_column", args=[tenant.slug, "lead"]),
        {"after": lead["page"].next_cursor},
        HTTP_HX_REQUEST="true",
    )
    assert len(more.context["column"]["page"].items) == 5
    names = {c.name for c in lead["page"].items} | {
        c.name for c in more.context["column"]["page"].items
    }
    assert len(names) == 25


def test_the_board_costs_the_same_queries_however_full(
    sales_client, tenant, django_assert_max_num_queries
):
    for stage in ("lead", "mql", "sql"):
        ContactFactory.create_batch(3, tenant=tenant, stage=stage)
    with django_assert_max_num_queries(16) as few:  # 2 of them set the database scope
        sales_client.get(reverse("board", args=[tenant.slug]))
    for stage in ("lead", "mql", "sql"):
        ContactFactory.create_batch(15, tenant=tenant, stage=stage)
    with django_assert_max_num_queries(len(few.captured_queries)):
        sales_client.get(reverse("board", args=[tenant.slug]))


def test_a_drop_on_the_board_moves_the_card_and_updates_both_counts(
    sales_client, tenant, django_capture_on_commit_callbacks
):
    contact = ContactFactory(tenant=tenant, name="拖动我", stage="lead")
    ContactFactory(tenant=tenant, stage="lead")
    funnel_recompute(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = sales_client.post(
            reverse("contact_move", args=[tenant.slug, contact.pk]),
            {"to_stage": "mql", "version": 0, "origin": "board"},
            HTTP_HX_REQUEST="true",
        )
    html = response.content.decode()
    assert f'<div id="card-{contact.pk}" hx-swap-oob="delete">' in html
    assert 'hx-swap-oob="afterbegin:#cards-mql"' in html
    assert '<span class="count" id="count-lead" hx-swap-oob="true">1</span>' in html
    assert '<span class="count" id="count-mql" hx-swap-oob="true">1</span>' in html


def test_admin_renames_stages_and_the_labels_show_everywhere(admin_client, tenant, admin):
    contact = ContactFactory(tenant=tenant, name="标签客户", stage="lead")
    rows = {
        f"{stage}-label": label for stage, label in [("subscriber", "01-围观"), ("lead", "02-潜客")]
    }
    rows.update({f"{s}-colour": "#336699" for s in ("subscriber", "lead")})
    response = admin_client.post(reverse("stage_settings", args=[tenant.slug]), rows)
    assert response.status_code == 302
    assert StageSetting.objects.for_tenant(tenant).get(stage="lead").label == "02-潜客"
    assert Contact.objects.for_tenant(tenant).get(pk=contact.pk).stage == "lead"
    pages = [
        reverse("board", args=[tenant.slug]),
        reverse("contact_list", args=[tenant.slug]),
        reverse("contact_detail", args=[tenant.slug, contact.pk]),
    ]
    for url in pages:
        assert "02-潜客" in admin_client.get(url).content.decode(), url


def test_two_stages_cannot_share_a_label(admin_client, tenant):
    response = admin_client.post(
        reverse("stage_settings", args=[tenant.slug]),
        {"lead-label": "潜客", "mql-label": "潜客"},
        follow=True,
    )
    assert "Two stages cannot both be called “潜客”." in response.content.decode()
    assert not StageSetting.objects.for_tenant(tenant).exclude(label="").exists()


def test_a_label_cannot_take_another_stages_default_name(admin_client, tenant):
    response = admin_client.post(
        reverse("stage_settings", args=[tenant.slug]), {"mql-label": "潜在客户"}, follow=True
    )
    assert "Two stages cannot both be called" in response.content.decode()


def test_a_script_label_is_shown_as_text(admin_client, tenant):
    ContactFactory(tenant=tenant, stage="lead")
    admin_client.post(
        reverse("stage_settings", args=[tenant.slug]), {"lead-label": "<script>x()</script>"}
    )
    for url in (reverse("board", args=[tenant.slug]), reverse("contact_list", args=[tenant.slug])):
        html = admin_client.get(url).content.decode()
        assert "<script>x()</script>" not in html
        assert "&lt;script&gt;x()&lt;/script&gt;" in html


def test_labels_belong_to_one_company(admin_client, tenant, outsider_client, outsider):
    admin_client.post(reverse("stage_settings", args=[tenant.slug]), {"lead-label": "02-潜客"})
    html = outsider_client.get(reverse("board", args=[outsider.tenant.slug])).content.decode()
    assert "02-潜客" not in html and "Lead" in html


def test_only_admins_edit_stages(sales_client, marketer_client, tenant):
    for client in (sales_client, marketer_client):
        response = client.post(reverse("stage_settings", args=[tenant.slug]), {"lead-label": "x"})
        assert response.status_code == 403
    assert not StageSetting.objects.for_tenant(tenant).exists()


def test_default_criteria_come_from_the_seed_in_both_languages(admin_client, tenant, admin):
    html = admin_client.get(reverse("stage_settings", args=[tenant.slug])).content.decode()
    assert "Called in to ask about courses and prices." in html
    admin.user.language = "zh-hans"
    admin.user.save()
    html = admin_client.get(reverse("stage_settings", args=[tenant.slug])).content.decode()
    assert "来电咨询课程和价格" in html


def _criteria_box(html: str, stage: str) -> tuple[str, str, str]:
    """A stage's entry criteria box on the settings page: (its tag, its text, its hint)."""
    box = re.search(rf'(<textarea name="{stage}-entry_criteria"[^>]*>)(.*?)</textarea>', html, re.S)
    hint = re.search(rf'<small[^>]*id="id_{stage}-entry_criteria_helptext">(.*?)</small>', html)
    return box.group(1), box.group(2), hint.group(1)


def test_the_standard_entry_criteria_read_as_a_hint_not_as_saved_text(admin_client, tenant):
    url = reverse("stage_settings", args=[tenant.slug])

    tag, text, hint = _criteria_box(admin_client.get(url).content.decode(), "sql")

    # nothing saved: the box is empty, with no grey placeholder looking like saved words
    assert text == "" and "placeholder" not in tag
    assert 'aria-describedby="id_sql-entry_criteria_helptext"' in tag
    assert hint == (
        "Left empty, the standard criteria apply: “Called in to ask about courses and prices.”"
    )

    admin_client.post(url, {"sql-entry_criteria": "试听后来电询价。"})
    tag, text, hint = _criteria_box(admin_client.get(url).content.decode(), "sql")

    assert text == "试听后来电询价。"
    assert "Called in to ask about courses and prices." in hint


def test_entry_requirements_are_set_per_stage(admin_client, tenant):
    admin_client.post(
        reverse("stage_settings", args=[tenant.slug]),
        {"lead-requirements": ["phone", "owner"], "opportunity-requirements": ["expected_amount"]},
    )
    saved = dict(StageSetting.objects.for_tenant(tenant).values_list("stage", "requirements"))
    assert saved["lead"] == ["phone", "owner"]
    assert saved["opportunity"] == ["expected_amount"]
    assert saved["mql"] == []


def test_the_dashboard_shows_the_funnel_under_the_tenants_labels(admin_client, tenant):
    ContactFactory.create_batch(3, tenant=tenant, stage="lead")
    ContactFactory(tenant=tenant, stage="lead", status="lost")
    funnel_recompute(tenant=tenant)
    admin_client.post(reverse("stage_settings", args=[tenant.slug]), {"lead-label": "02-潜客"})
    html = admin_client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    assert "02-潜客" in html
    row = html[html.index("02-潜客") : html.index("02-潜客") + 400]
    assert '<td class="num">3</td>' in row and '<td class="small">1</td>' in row


def test_a_card_shows_owner_days_and_only_the_moves_its_viewer_may_make(
    sales_client, marketer_client, tenant, sales
):
    StageSetting.objects.create(tenant=tenant, stage="mql", label="03-营销合格")
    arrived = timezone.now() - timedelta(days=3, hours=1)
    owned = ContactFactory(tenant=tenant, name="<b>甲</b>", stage="sql", owner=sales,
                           stage_entered_at=arrived)  # fmt: skip
    nobody = ContactFactory(tenant=tenant, name="乙", stage="sql")
    html = sales_client.get(reverse("board", args=[tenant.slug])).content.decode()
    card = html[html.index(f'id="card-{owned.pk}"') : html.index("</article>", html.index(
        f'id="card-{owned.pk}"'))]  # fmt: skip
    assert "&lt;b&gt;甲&lt;/b&gt;" in card and "<b>甲</b>" not in card
    # owner and days side by side, or one under the other on a narrow card: no "·" left dangling
    meta = card[card.index('class="card-meta"') : card.index("</div>", card.index("card-meta"))]
    assert f'<span class="owner">{sales.display_name}</span>' in meta
    assert '<span class="in-stage">3 days in stage</span>' in meta and "·" not in meta
    move_url = reverse("contact_move", args=[tenant.slug, owned.pk])
    assert f'data-move-url="{move_url}"' in card and f'action="{move_url}"' in card
    assert f'name="version" value="{owned.stage_version}"' in card
    assert 'name="csrfmiddlewaretoken"' in card
    # sales may move back (marked ↩, in the company's own stage names) and forward
    assert 'value="mql" class="backward">↩ 03-营销合格</button>' in card
    assert 'value="opportunity" class="">' in card
    assert f'id="card-{nobody.pk}"' in html and "No owner" in html
    marketers = marketer_client.get(reverse("board", args=[tenant.slug])).content.decode()
    assert 'class="backward"' not in marketers and 'value="opportunity"' in marketers


def test_a_dashboard_row_reads_count_reach_conversion_time_and_losses(admin_client, tenant):
    for status, count in (("active", 12345), ("lost", 7)):
        FunnelCount.objects.create(tenant=tenant, stage="sql", status=status, count=count)
    FunnelStats.objects.create(tenant=tenant, data={
        "reached": {"sql": 20000}, "conversion": {"sql": 0.254},
        "time_in_stage": {"sql": {"p50": 3 * 86400, "p90": 5400}},
        "lost": {"sql": {"unreachable": 4, "churned": 3}},
    })  # fmt: skip
    html = admin_client.get(reverse("dashboard", args=[tenant.slug])).content.decode()
    start = html.index(f"{reverse('contact_list', args=[tenant.slug])}?stage=sql&amp;status=active")
    row = html[start : html.index("</tr>", start)]
    reasons = '<span class="muted lost-reasons">· Churned 3 · Unreachable 4 </span>'
    losses = f'<td class="small">7 {reasons}</td>'
    cells = ['<td class="num">12,345</td>', '<td class="num">20,000</td>',
             '<td class="num">25%</td>', '<td class="num">3.0 d / 1.5 h</td>', losses]  # fmt: skip
    assert [cell in row for cell in cells] == [True] * len(cells), row
    assert 'class="bar w-100"' in row
