"""A marketer gives the people of a file their owner, and an admin takes an import back: only
the contacts it created that nobody has touched since are removed."""

from unittest import mock

import pytest
from django.db.models import Sum
from django.urls import reverse

from audiences.models import AudienceSnapshot, AudienceSnapshotMember
from crm.merges import contact_merge
from crm.models import AuditEntry, AuditKind, Contact
from crm.services import ContactData, ServiceError, contact_update
from lifecycle.models import FunnelCount
from lifecycle.services import contact_stage_move
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading, report
from spreadsheets.imports.undo import import_undo, import_undo_counts
from spreadsheets.models import ImportChunk, ImportJob
from tagging.rules import event_kind_create, event_log
from tagging.services import contact_tag_add
from tests.conftest import client_for
from tests.factories import ContactFactory, MembershipFactory

HEADER = "姓名,手机,负责人\n"


def upload(tenant, member, text, name="客户.csv"):
    return imports.import_start(tenant=tenant, actor=member, file_name=name,
                                content=text.encode(), language="en")  # fmt: skip


def mapping_of(job):
    rows = reading.read_table(bytes(job.content), job.file_name)[2]
    return {f"column-{i}": f for i, f in imports.guess_mapping(rows[0]).items()}


def run(tenant, member, text, *, owner=None, name="客户.csv"):
    job = upload(tenant, member, text, name)
    job.mapping = imports.guess_mapping(reading.read_table(text.encode(), name)[2][0])
    job.owner = owner
    job.save()
    return imports.import_run(job=job)


def owners(tenant):
    return {c.name: c.owner for c in Contact.objects.for_tenant(tenant)}


@pytest.fixture
def zhao(sales):
    """The salesperson 赵小明 (username zhao, zhao@school.cn)."""
    user = sales.user
    user.first_name, user.last_name, user.email = "小明", "赵", "zhao@school.cn"
    user.save()
    return sales


# --- owner on import -------------------------------------------------------------------------


def test_the_owner_header_is_recognised_as_the_owner_column():
    for header in ("负责人", "销售", "跟进人", "Owner", "Sales rep", "assigned to"):
        assert imports.guess_mapping(["手机", header]) == {"0": "phone", "1": "owner"}


def test_one_owner_chosen_on_the_mapping_page_owns_every_new_contact(
    marketer_client, tenant, marketer, zhao, admin, django_capture_on_commit_callbacks
):
    no_owner = ContactFactory(tenant=tenant, name="老客户", phone="13900000001")
    someone_elses = ContactFactory(tenant=tenant, name="王的客户", phone="13900000002", owner=admin)
    job = upload(tenant, marketer, "姓名,手机\n张一,13800000001\n张二,13800000002\n"
                 "老客户,13900000001\n王的客户,13900000002\n")  # fmt: skip
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert 'name="owner"' in page and "赵小明" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(
            reverse("import_map", args=[tenant.slug, job.pk]),
            {**mapping_of(job), "owner": str(zhao.pk)},
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.owner, job.created, job.updated) == ("done", zhao, 2, 1)
    found = owners(tenant)
    assert (found["张一"], found["张二"]) == (zhao, zhao)
    no_owner.refresh_from_db()
    assert no_owner.owner == zhao  # had none: given one
    someone_elses.refresh_from_db()
    assert someone_elses.owner == admin  # never silently reassigned


def test_an_owner_column_names_members_by_username_name_or_email(tenant, marketer, zhao, admin):
    text = HEADER + (
        "张一,13800000001,zhao\n"
        "张二,13800000002,赵小明\n"
        "张三,13800000003,ＺＨＡＯ@School.cn\n"  # full-width, as typed on a Chinese keyboard
        "张四,13800000004, Zhao \n"
        "张五,13800000005,\n"  # empty: the owner chosen for all rows
    )
    job = run(tenant, marketer, text, owner=admin)
    assert (job.created, job.failed) == (5, 0)
    found = owners(tenant)
    assert [found[f"张{n}"] for n in "一二三四"] == [zhao] * 4
    assert found["张五"] == admin


def test_each_distinct_owner_is_looked_up_once(
    tenant, marketer, zhao, django_assert_max_num_queries
):
    rows = "".join(f"客户{n},138{n:08d},赵小明\n" for n in range(200))
    job = upload(tenant, marketer, HEADER + rows)
    job.mapping = {"0": "name", "1": "phone", "2": "owner"}
    checker = imports.RowChecker(job=job)
    table = reading.read_table(bytes(job.content), job.file_name)[2]
    with django_assert_max_num_queries(0):  # the members were read when the checker was made
        records = [checker.check(n, row) for n, row in enumerate(table[1:], start=2)]
    assert {r.owner for r in records} == {zhao.pk}


def test_an_unknown_owner_is_a_row_error_with_the_reason(tenant, marketer, zhao):
    namesake = MembershipFactory(tenant=tenant, role="sales", user__username="zhao2",
                                 user__first_name="小明", user__last_name="赵")  # fmt: skip
    text = HEADER + "张一,13800000001,小王\n张二,13800000002,zhao\n张三,13800000003,赵小明\n"
    job = run(tenant, marketer, text)
    assert (job.created, job.failed) == (1, 2)
    assert owners(tenant) == {"张二": zhao}
    reasons = {(e["row"], e["column"]): e["reason"] for e in report.errors_shown(job.errors)}
    assert reasons[(2, "Owner")] == (
        "Unknown member “小王”: write the username, name or email of a member of this company."
    )
    assert reasons[(4, "Owner")] == (
        "“赵小明” is the name of more than one member: write a username or email."
    )
    assert namesake.owned_contacts.count() == 0


def test_another_companys_member_is_not_an_owner(tenant, marketer, outsider):
    # named in a cell: unknown here, even though the name exists elsewhere
    job = run(tenant, marketer, HEADER + "张一,13800000001,rival\n")
    assert (job.created, job.failed) == (0, 1)
    # handed to the service: refused
    job = upload(tenant, marketer, "手机\n13800000002\n", name="b.csv")
    with pytest.raises(ServiceError, match="The owner must be a member of this company"):
        imports.import_confirm(job=job, mapping={"0": "phone"}, create_tags=False, owner=outsider)
    job.refresh_from_db()
    assert (job.status, job.owner) == (ImportJob.PENDING, None)


def test_another_companys_membership_id_posted_by_hand_is_refused(
    marketer_client, tenant, marketer, outsider
):
    job = upload(tenant, marketer, "手机\n13800000001\n")
    response = marketer_client.post(
        reverse("import_map", args=[tenant.slug, job.pk]),
        {"column-0": "phone", "owner": str(outsider.pk)},
    )
    assert response.status_code == 200
    assert "Choose a member of this company as the owner." in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.owner) == (ImportJob.PENDING, None)
    assert not Contact.objects.for_tenant(tenant).exists()
    # nonsense is refused the same way, never a 500
    response = marketer_client.post(
        reverse("import_map", args=[tenant.slug, job.pk]), {"column-0": "phone", "owner": "x;"}
    )
    assert "Choose a member of this company as the owner." in response.content.decode()


# --- undo --------------------------------------------------------------------------------------


SEVEN = HEADER.replace(",负责人", ",阶段") + "".join(
    f"张{n},1380000000{i},\n" for i, n in enumerate("一二三四五六七", start=1)
)


@pytest.fixture
def imported(tenant, marketer, admin, sales, make_tag):
    """An import that created 张一…张七 and updated 老客户; then, by hand: 张二 edited, 张三
    moved, 张四 tagged, 张五 given an event, 张七 merged into 老客户 (gone)."""
    old = ContactFactory(tenant=tenant, name="老客户", phone="13900000001")
    job = run(tenant, marketer, SEVEN + "老客户,13900000001,mql\n")
    assert (job.created, job.updated) == (7, 1)
    people = {c.name: c for c in Contact.objects.for_tenant(tenant)}
    edited = ContactData(name="张二", phone="13800000002", company="新东方")
    contact_update(contact=people["张二"], actor=sales, data=edited)
    contact_stage_move(contact=people["张三"], actor=sales, to_stage="mql")
    contact_tag_add(contact=people["张四"], tag=make_tag("意向", "高意向"), actor=sales)
    visit = event_kind_create(tenant=tenant, actor=admin, label="到店")  # no rule: only the event
    event_log(contact=people["张五"], actor=sales, kind=visit.key)
    contact_merge(survivor=old, merged=people["张七"], actor=admin, take_from_merged=set())
    return job


def names(tenant):
    return set(Contact.objects.for_tenant(tenant).values_list("name", flat=True))


def test_an_import_records_the_contacts_it_created_chunk_by_chunk(tenant, marketer):
    with mock.patch.object(imports, "CHUNK", 3):
        job = run(tenant, marketer, SEVEN)
    chunks = ImportChunk.objects.for_tenant(tenant).filter(job=job).order_by("number")
    assert [len(c.created_ids) for c in chunks] == [3, 3, 1]
    created = {pk for c in chunks for pk in c.created_ids}
    assert created == set(Contact.objects.for_tenant(tenant).values_list("pk", flat=True))


def test_the_confirmation_counts_what_will_be_removed_and_what_is_kept(
    admin_client, tenant, imported
):
    detail = admin_client.get(reverse("import_detail", args=[tenant.slug, imported.pk]))
    assert "Remove the contacts this import created (7)" in detail.content.decode()
    page = admin_client.get(reverse("import_undo", args=[tenant.slug, imported.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    counts = import_undo_counts(job=imported)
    assert (counts.created, counts.removable, counts.kept, counts.gone) == (7, 2, 4, 1)
    assert '<dd id="undo-removable">2</dd>' in text and '<dd id="undo-kept">4</dd>' in text
    assert "Remove 2 contacts" in text
    shown = {"张一", "张二", "张三", "张四", "张五", "张六", "老客户"}
    assert names(tenant) == shown  # asking changed nothing


def test_undo_removes_exactly_the_untouched_contacts_it_created_audited(
    admin_client, admin, tenant, imported, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("import_undo", args=[tenant.slug, imported.pk]))
    assert response.url == reverse("import_detail", args=[tenant.slug, imported.pk])
    # not the one it updated, not those edited, moved, tagged or given an event since
    assert names(tenant) == {"张二", "张三", "张四", "张五", "老客户"}
    imported.refresh_from_db()
    assert imported.undone_at is not None and imported.undone == 2
    entry = AuditEntry.objects.for_tenant(tenant).get(kind=AuditKind.IMPORT_UNDONE)
    assert (entry.actor, entry.subject, entry.count) == (admin, "客户.csv", 2)
    assert entry.details == {"job": imported.pk, "kept": 4}
    # the stored funnel follows
    total = FunnelCount.objects.for_tenant(tenant).aggregate(n=Sum("count"))["n"]
    assert total == 5
    detail = admin_client.get(response.url).content.decode()
    assert "2 contacts this import created were removed. 4 were kept" in detail
    assert "This import was undone on" in detail and "Remove the contacts" not in detail


def test_a_second_undo_removes_nothing_more(admin_client, marketer, tenant, imported):
    url = reverse("import_undo", args=[tenant.slug, imported.pk])
    admin_client.post(url)
    ContactFactory(tenant=tenant, name="后来的", phone="13700000000")
    response = admin_client.post(url, follow=True)
    assert "This import was already undone: nothing more was removed." in (
        response.content.decode()
    )
    assert names(tenant) == {"张二", "张三", "张四", "张五", "老客户", "后来的"}
    assert AuditEntry.objects.for_tenant(tenant).filter(kind=AuditKind.IMPORT_UNDONE).count() == 1
    imported.refresh_from_db()
    assert imported.undone == 2
    # its page says what happened, and no longer asks; the list says it was undone
    page = admin_client.get(url).content.decode()
    assert "Undo an import" in page and "created?" not in page and "Remove 2" not in page
    listed = admin_client.get(reverse("import_list", args=[tenant.slug])).content.decode()
    assert "undone" in listed


def test_the_marketer_who_ran_the_import_may_undo_it(marketer_client, tenant, marketer):
    job = run(tenant, marketer, SEVEN)
    marketer_client.post(reverse("import_undo", args=[tenant.slug, job.pk]))
    assert names(tenant) == set()


@pytest.mark.parametrize("who", ["sales", "other_marketer"])
def test_other_roles_may_not_undo(tenant, imported, sales, who):
    member = sales if who == "sales" else MembershipFactory(tenant=tenant, role="marketer")
    client = client_for(member)
    url = reverse("import_undo", args=[tenant.slug, imported.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert len(names(tenant)) == 7
    imported.refresh_from_db()
    assert imported.undone_at is None
    if who == "other_marketer":
        detail = client.get(reverse("import_detail", args=[tenant.slug, imported.pk]))
        assert "Remove the contacts" not in detail.content.decode()


def test_another_company_cannot_see_or_undo_an_import(outsider_client, tenant, imported):
    for slug in (tenant.slug, "rival-school"):
        url = reverse("import_undo", args=[slug, imported.pk])
        assert outsider_client.get(url).status_code == 404
        assert outsider_client.post(url).status_code == 404
    assert len(names(tenant)) == 7
    imported.refresh_from_db()
    assert imported.undone_at is None


def test_a_contact_in_a_frozen_list_is_kept(tenant, marketer, admin):
    job = run(tenant, marketer, SEVEN)
    sent = AudienceSnapshot.objects.create(tenant=tenant, name="三月活动", created_by=marketer)
    zhang_one = Contact.objects.for_tenant(tenant).get(name="张一")
    AudienceSnapshotMember.objects.create(tenant=tenant, snapshot=sent, contact=zhang_one)
    counts = import_undo(job=job, actor=admin)
    assert (counts.removable, counts.kept) == (6, 1)
    assert names(tenant) == {"张一"}
