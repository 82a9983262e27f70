"""A marketer's file has a 来源 column. Kept as text in the Source field (as it always was), or
imported into the company's 来源 tag group: each person then gets the 来源 tag the cell names,
by name or alias, and a value that is no tag of the group is reported by its row (or created in
the group when the marketer ticks "create tags")."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Contact
from crm.services import ServiceError
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import report
from spreadsheets.imports.reading import guess_mapping
from spreadsheets.models import ImportJob
from tagging.models import ContactTag, Tag, TagAlias, TagGroup, name_key

FILE = (
    "姓名,手机,来源\n"
    "张伟,13800138000,公众号\n"
    "王芳,13900139000,传单\n"  # an alias of 地推传单
    "李娜,13700137000,展会\n"  # no such tag
    "赵敏,13600136000,高意向\n"  # a tag of another group
    "孙磊,13500135000,\n"  # no source: nothing to tag
)


@pytest.fixture
def sources(make_tag, tenant):
    wechat = make_tag("来源", "公众号")
    flyer = make_tag("来源", "地推传单")
    TagAlias.objects.create(tenant=tenant, tag=flyer, name="传单", name_key=name_key("传单"))
    make_tag("意向", "高意向", single_choice=True)
    return {"公众号": wechat, "地推传单": flyer}


def upload(client, tenant, text=FILE) -> ImportJob:
    response = client.post(
        reverse("import_new", args=[tenant.slug]),
        {"file": SimpleUploadedFile("活动名单.csv", text.encode())},
    )
    assert response.status_code == 302
    return ImportJob.objects.for_tenant(tenant).latest("created_at")


def confirm(client, tenant, job, columns, on_commit, **options) -> ImportJob:
    data = {f"column-{i}": target for i, target in columns.items()} | options
    with on_commit(execute=True):
        response = client.post(reverse("import_map", args=[tenant.slug, job.pk]), data)
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def tags_of(tenant, name) -> set[str]:
    person = Contact.objects.for_tenant(tenant).get(name=name)
    held = ContactTag.objects.for_tenant(tenant).filter(contact=person)
    return set(held.values_list("tag__label", flat=True))


def test_a_source_column_stays_the_source_field_and_the_source_group_is_offered(
    marketer_client, tenant, sources
):
    job = upload(marketer_client, tenant)
    assert job.mapping == {"0": "name", "1": "phone", "2": "source"}  # as before
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    assert '<option value="tg:来源" >Tag group: 来源</option>' in page
    assert '<option value="tg:意向" >Tag group: 意向</option>' in page
    assert 'id="source-group-2"' in page and "Or choose “Tag group: 来源”" in page
    assert 'id="source-group-0"' not in page


def test_a_row_refused_for_an_unknown_tag_names_the_box_to_tick_as_the_page_labels_it(
    marketer_client, tenant, sources
):
    """The reason tells the marketer which box to tick: it quotes the box's own words (it said
    “create unknown tags”, which no box on the page says)."""
    job = upload(marketer_client, tenant)
    page = marketer_client.get(reverse("import_map", args=[tenant.slug, job.pk])).content.decode()
    for reason in (report.ERRORS["unknown_tag"][1], report.GROUP_ERRORS["group_unknown_tag"]):
        box = re.search(r"tick “([^”]+)”", str(reason)).group(1)
        assert f'<input type="checkbox" name="create_tags"> {box}' in page, box


def test_a_source_column_imported_into_the_source_group_tags_by_name_and_alias(
    marketer_client, tenant, sources, django_capture_on_commit_callbacks
):
    job = upload(marketer_client, tenant)
    job = confirm(marketer_client, tenant, job, {0: "name", 1: "phone", 2: "tg:来源"},
                  django_capture_on_commit_callbacks)  # fmt: skip
    assert job.status == ImportJob.DONE
    assert tags_of(tenant, "张伟") == {"公众号"}
    assert tags_of(tenant, "王芳") == {"地推传单"}  # by its alias 传单
    assert tags_of(tenant, "孙磊") == set()
    people = Contact.objects.for_tenant(tenant)
    assert set(people.values_list("source", flat=True)) == {""}  # the tag, not the text
    assert not people.filter(name__in=["李娜", "赵敏"]).exists()
    assert report.errors_shown(job.errors, tenant=tenant) == [
        {"row": 4, "column": "来源",
         "reason": "No tag “展会” in 来源 (tick “Create tags that do not exist yet” to add it to "
                   "来源)."},
        {"row": 5, "column": "来源", "reason": "“高意向” is a tag of 意向, not of 来源."},
    ]  # fmt: skip
    assert not Tag.objects.for_tenant(tenant).filter(label="展会").exists()


def test_unknown_sources_are_created_in_the_source_group_when_asked(
    marketer_client, tenant, sources, django_capture_on_commit_callbacks
):
    job = upload(marketer_client, tenant)
    job = confirm(marketer_client, tenant, job, {0: "name", 1: "phone", 2: "tg:来源"},
                  django_capture_on_commit_callbacks, create_tags="on")  # fmt: skip
    assert tags_of(tenant, "李娜") == {"展会"}
    assert Tag.objects.for_tenant(tenant).get(label="展会").group.label == "来源"
    # a tag of another group is still no source: reported, not moved nor duplicated
    assert [(e["row"], e["code"]) for e in job.errors] == [(5, "group_other_tag")]
    assert Tag.objects.for_tenant(tenant).filter(label="高意向").count() == 1


def test_the_group_is_named_as_it_is_called_now(tenant, sources):
    errors = [{"row": 4, "code": "group_unknown_tag", "value": "展会", "group": "来源",
               "label": "来源"}]  # fmt: skip
    TagGroup.objects.for_tenant(tenant).filter(key="来源").update(label="渠道来源")
    assert report.errors_shown(errors, tenant=tenant)[0]["column"] == "渠道来源"


def test_a_one_at_a_time_group_keeps_the_last_tag_a_cell_gives(tenant, marketer, make_tag):
    make_tag("意向", "高意向", single_choice=True)
    make_tag("意向", "低意向", single_choice=True)
    content = "手机,意向\n13800138000,高意向、低意向\n".encode()
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv",
                               content=content, language="en")  # fmt: skip
    assert job.mapping == {"0": "phone", "1": "tg:意向"}  # a header naming a group maps to it
    imports.import_confirm(job=job, mapping=job.mapping, create_tags=False)
    imports.import_run(job=job)
    assert set(ContactTag.objects.for_tenant(tenant).values_list("tag__label", flat=True)) == {
        "低意向"
    }


def test_a_group_deleted_meanwhile_is_refused_at_the_confirmation(tenant, marketer, sources):
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv",
                               content=FILE.encode(), language="en")  # fmt: skip
    TagGroup.objects.for_tenant(tenant).filter(key="意向").update(key="intent")
    with pytest.raises(ServiceError, match="A tag group chosen for a column was deleted"):
        imports.import_confirm(job=job, mapping={"1": "phone", "2": "tg:意向"}, create_tags=False)
    job.refresh_from_db()
    assert job.status == ImportJob.PENDING


def test_another_companys_group_cannot_be_chosen(tenant, marketer, other_tenant, sources):
    TagGroup.objects.create(tenant=other_tenant, key="外部", label="外部")
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv",
                               content=FILE.encode(), language="en")  # fmt: skip
    with pytest.raises(ServiceError):
        imports.import_confirm(job=job, mapping={"1": "phone", "2": "tg:外部"}, create_tags=False)
    job.refresh_from_db()
    assert job.status == ImportJob.PENDING


def test_our_fields_and_the_companys_own_come_before_its_tag_groups():
    groups = [("来源", "来源"), ("意向", "意向")]
    assert guess_mapping(["手机", "来源", "意向"], groups=groups) == {
        "0": "phone", "1": "source", "2": "tg:意向"}  # fmt: skip
    # a second source column, the first being the Source field: the group
    assert guess_mapping(["渠道", "来源"], groups=groups) == {"0": "source", "1": "tg:来源"}


def test_a_name_too_long_for_a_tag_fails_its_row_and_the_import_goes_on(tenant, marketer, sources):
    """With "create tags" ticked, a name over a tag's 60 characters stopped the whole import
    ("something went wrong"): now its row is reported and the others land."""
    long = "长" * 70
    content = (f"手机,来源,标签\n13800138000,{long},\n13900139000,,{long}\n"
               "13700137000,新渠道,新标签\n")  # fmt: skip
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="a.csv",
                               content=content.encode(), language="en")  # fmt: skip
    imports.import_confirm(job=job, mapping={"0": "phone", "1": "tg:来源", "2": "tags"},
                           create_tags=True)  # fmt: skip
    imports.import_run(job=job)
    job.refresh_from_db()
    assert job.status == ImportJob.DONE
    reason = f"“{long}” is longer than a tag's name can be (60 characters)."
    assert report.errors_shown(job.errors, tenant=tenant) == [
        {"row": 2, "column": "来源", "reason": reason},
        {"row": 3, "column": "Tags", "reason": reason},
    ]
    assert Contact.objects.for_tenant(tenant).get().phone == "13700137000"
    assert Tag.objects.for_tenant(tenant).get(label="新渠道").group.label == "来源"
