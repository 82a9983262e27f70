"""“The coupon goes only to SQL and later, tagged 成人口语”: audiences that stay true."""

import csv
import io

import pytest
from django.urls import reverse

from audiences.models import Audience, AudienceChange, AudienceMember, AudienceSnapshotMember
from audiences.services import audience_freeze, audience_recompute, audience_save
from crm.csvfiles import csv_cell
from crm.services import ServiceError
from lifecycle.services import contact_stage_move
from tagging.models import Tag, TagGroup
from tagging.services import contact_tag_add
from tests.factories import ContactFactory


@pytest.fixture
def spoken(tenant):
    group = TagGroup.objects.create(tenant=tenant, key="interest", label="课程兴趣")
    return Tag.objects.create(tenant=tenant, group=group, key="spoken", label="成人口语",
                              label_key="成人口语")  # fmt: skip


def members(audience):
    return sorted(
        AudienceMember.objects.for_tenant(audience.tenant)
        .filter(audience=audience)
        .values_list("contact__name", flat=True)
    )


def test_sql_and_later_tagged_spoken_english(tenant, marketer, spoken):
    for name, stage, tagged in [("甲", "sql", True), ("乙", "customer", True),
                                ("丙", "mql", True), ("丁", "sql", False)]:  # fmt: skip
        contact = ContactFactory(tenant=tenant, name=name, stage=stage)
        if tagged:
            contact_tag_add(contact=contact, tag=spoken, actor=None)
    ContactFactory(tenant=tenant, name="流失", stage="sql", status="lost")
    audience = audience_save(tenant=tenant, actor=marketer, name="优惠券", gate="at_or_past",
                             stages=["sql"], status="active", tag_any=[spoken.pk])  # fmt: skip
    assert audience_recompute(audience=audience) == (2, 0)
    assert members(audience) == ["乙", "甲"]
    assert audience.size == 2 and audience.computed_at is not None


def test_exact_stages_and_none_of_tags(tenant, marketer, spoken):
    ContactFactory(tenant=tenant, name="MQL", stage="mql")
    tagged = ContactFactory(tenant=tenant, name="MQL tagged", stage="mql")
    contact_tag_add(contact=tagged, tag=spoken, actor=None)
    ContactFactory(tenant=tenant, name="SQL", stage="sql")
    audience = audience_save(tenant=tenant, actor=marketer, name="只要MQL", gate="exact",
                             stages=["mql"], tag_none=[spoken.pk])  # fmt: skip
    audience_recompute(audience=audience)
    assert members(audience) == ["MQL"]


def test_joining_and_leaving_are_recorded_and_recompute_is_idempotent(
    tenant, marketer, sales, spoken
):
    stays = ContactFactory(tenant=tenant, name="留下", stage="sql")
    leaves = ContactFactory(tenant=tenant, name="离开", stage="sql")
    audience = audience_save(tenant=tenant, actor=marketer, name="SQL+", gate="at_or_past",
                             stages=["sql"])  # fmt: skip
    audience_recompute(audience=audience)
    assert audience_recompute(audience=audience) == (0, 0)  # twice: nothing more
    contact_stage_move(contact=leaves, actor=sales, to_stage="lead", reason="没预算")
    joins = ContactFactory(tenant=tenant, name="加入", stage="customer")
    assert audience_recompute(audience=audience) == (1, 1)
    assert members(audience) == ["加入", "留下"]
    changes = AudienceChange.objects.for_tenant(tenant).filter(audience=audience)
    assert set(changes.filter(change="left").values_list("contact", flat=True)) == {leaves.pk}
    entered = set(changes.filter(change="entered").values_list("contact", flat=True))
    assert entered == {stays.pk, leaves.pk, joins.pk}


def test_audiences_follow_changes_after_commit(
    tenant, marketer, sales, spoken, django_capture_on_commit_callbacks
):
    contact = ContactFactory(tenant=tenant, name="王芳", stage="mql")
    with django_capture_on_commit_callbacks(execute=True):
        audience = audience_save(
            tenant=tenant, actor=marketer, name="SQL+ 口语", gate="at_or_past", stages=["sql"],
            tag_all=[spoken.pk],
        )  # fmt: skip
    assert members(audience) == []
    with django_capture_on_commit_callbacks(execute=True):
        contact_stage_move(contact=contact, actor=sales, to_stage="sql")
    assert members(audience) == []
    with django_capture_on_commit_callbacks(execute=True):
        contact_tag_add(contact=contact, tag=spoken, actor=sales)
    assert members(audience) == ["王芳"]


def test_a_frozen_list_keeps_its_members_when_the_audience_changes(tenant, marketer, sales):
    contact = ContactFactory(tenant=tenant, stage="sql")
    audience = audience_save(tenant=tenant, actor=marketer, name="SQL+", gate="at_or_past",
                             stages=["sql"])  # fmt: skip
    audience_recompute(audience=audience)
    snapshot = audience_freeze(audience=audience, actor=marketer, name="双十一优惠券")
    contact_stage_move(contact=contact, actor=sales, to_stage="lead", reason="退回")
    audience_recompute(audience=audience)
    assert members(audience) == []
    kept = AudienceSnapshotMember.objects.for_tenant(tenant).filter(snapshot=snapshot)
    assert list(kept.values_list("contact", flat=True)) == [contact.pk] and snapshot.size == 1


def test_definitions_are_checked(tenant, marketer, sales, other_tenant):
    with pytest.raises(ServiceError, match="one stage"):
        audience_save(tenant=tenant, actor=marketer, name="x", gate="at_or_past",
                      stages=["sql", "mql"])  # fmt: skip
    foreign_group = TagGroup.objects.create(tenant=other_tenant, key="g", label="g")
    foreign = Tag.objects.create(tenant=other_tenant, group=foreign_group, key="t", label="t",
                                 label_key="t")  # fmt: skip
    with pytest.raises(ServiceError, match="tags of this company"):
        audience_save(tenant=tenant, actor=marketer, name="x", gate="exact", stages=["sql"],
                      tag_any=[foreign.pk])  # fmt: skip
    with pytest.raises(ServiceError, match="Only admins and marketers"):
        audience_save(tenant=tenant, actor=sales, name="x", gate="exact", stages=["sql"])
    assert not Audience.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    "value, cell",
    [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+86 138", "'+86 138"), ("-1", "'-1"),
     ("@SUM(A1)", "'@SUM(A1)"), ("张伟", "张伟"), (None, "")],
)  # fmt: skip
def test_csv_cells_cannot_run_as_formulas(value, cell):
    assert csv_cell(value) == cell


def test_the_export_is_excel_friendly_with_the_tenants_labels(admin_client, tenant, admin):
    admin_client.post(reverse("stage_settings", args=[tenant.slug]), {"sql-label": "04-咨询"})
    ContactFactory(tenant=tenant, name="=cmd|' /C calc'!A0", stage="sql")
    audience = audience_save(tenant=tenant, actor=admin, name="咨询名单", gate="exact",
                             stages=["sql"])  # fmt: skip
    audience_recompute(audience=audience)
    response = admin_client.get(reverse("audience_export", args=[tenant.slug, audience.pk]))
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    assert (
        "filename*=utf-8''%E5%92%A8%E8%AF%A2%E5%90%8D%E5%8D%95.csv"
        in (response["Content-Disposition"])
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == "'=cmd|' /C calc'!A0" and row["Stage"] == "04-咨询"


def test_marketer_defines_an_audience_and_sees_who_joined(
    marketer_client, tenant, spoken, django_capture_on_commit_callbacks
):
    ContactFactory(tenant=tenant, name="赵敏", stage="customer")
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(
            reverse("audience_create", args=[tenant.slug]),
            {"name": "付费客户", "gate": "at_or_past", "stages": ["customer"], "status": "active"},
        )
    html = marketer_client.get(response.url).content.decode()
    assert "付费客户" in html and "赵敏" in html
    assert "1 contact, as of" in html
    assert "Joined" in html


def test_sales_cannot_open_audiences(sales_client, tenant):
    assert sales_client.get(reverse("audience_list", args=[tenant.slug])).status_code == 403


def test_the_first_computation_shows_who_joined(admin_client, tenant, admin):
    ContactFactory(tenant=tenant, name="新成员", stage="customer")
    audience = audience_save(tenant=tenant, actor=admin, name="付费", gate="exact",
                             stages=["customer"])  # fmt: skip
    audience_recompute(audience=audience)
    page = admin_client.get(reverse("audience_detail", args=[tenant.slug, audience.pk]))
    recent = page.context["recent"]
    assert [c.name for c in recent["entered"]] == ["新成员"] and recent["left"] == []


def test_when_many_join_at_once_the_page_says_how_many_more_and_links_to_the_members(
    admin_client, tenant, admin
):
    ContactFactory.create_batch(53, tenant=tenant, stage="customer")
    audience = audience_save(tenant=tenant, actor=admin, name="付费", gate="exact",
                             stages=["customer"])  # fmt: skip
    audience_recompute(audience=audience)

    page = admin_client.get(reverse("audience_detail", args=[tenant.slug, audience.pk]))

    html = page.content.decode()
    assert len(page.context["recent"]["entered"]) == 50
    assert '<a href="#audience-members" class="more">… and 3 more</a>' in html
    assert '<section class="card" id="audience-members">' in html
    assert "more</span>" not in html  # nobody left: nothing more to say there


def test_a_short_joined_list_says_nothing_more(admin_client, tenant, admin):
    ContactFactory.create_batch(50, tenant=tenant, stage="customer")
    audience = audience_save(tenant=tenant, actor=admin, name="付费", gate="exact",
                             stages=["customer"])  # fmt: skip
    audience_recompute(audience=audience)

    page = admin_client.get(reverse("audience_detail", args=[tenant.slug, audience.pk]))

    assert len(page.context["recent"]["entered"]) == 50
    assert "more</a>" not in page.content.decode()


def test_when_many_leave_at_once_the_page_says_how_many_more(admin_client, tenant, admin):
    leaving = ContactFactory.create_batch(52, tenant=tenant, stage="customer")
    audience = audience_save(tenant=tenant, actor=admin, name="付费", gate="exact",
                             stages=["customer"])  # fmt: skip
    audience_recompute(audience=audience)
    for contact in leaving:
        contact_stage_move(contact=contact, actor=admin, to_stage="evangelist")
    audience_recompute(audience=audience)

    page = admin_client.get(reverse("audience_detail", args=[tenant.slug, audience.pk]))

    assert len(page.context["recent"]["left"]) == 50
    assert '<span class="muted">… and 2 more</span>' in page.content.decode()
