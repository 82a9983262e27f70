"""An admin renames a stage ("02-潜客" becomes "02-潜在客户") and adds other names for it: files,
links and other systems that use an old name still find the stage; the board shows the label."""

import pytest
from django.db import connection
from django.urls import reverse

from crm.models import AuditEntry, AuditKind, Contact
from crm.rls import tenant_tables
from crm.services import ServiceError
from lifecycle.aliases import stage_alias_add, stage_alias_remove
from lifecycle.models import StageAlias, StageSetting
from lifecycle.selectors import stage_resolve, stage_settings
from lifecycle.services import stage_settings_save
from spreadsheets.imports.jobs import import_confirm, import_start
from tests.conftest import client_for
from tests.factories import ContactFactory
from tests.integrations.conftest import ApiClient, token_for


def rename(tenant, admin, **labels):
    """Saves the stage settings page as it stands, with new labels for the stages named."""
    rows = {
        stage: {"label": labels.get(stage, setting.label), "requirements": setting.requirements}
        for stage, setting in stage_settings(tenant=tenant).items()
    }
    stage_settings_save(tenant=tenant, actor=admin, rows=rows)


def aliases(tenant) -> dict[str, str]:
    return dict(StageAlias.objects.for_tenant(tenant).values_list("name", "stage"))


def import_stages(tenant, marketer, capture, *stages: str) -> dict[str, str]:
    """Imports one person per stage name given; answers name -> the stage they landed in."""
    lines = ["姓名,手机,阶段"] + [f"客户{n},1380013{n:04d},{s}" for n, s in enumerate(stages)]
    with capture(execute=True):  # the import runs once its job is committed
        job = import_start(tenant=tenant, actor=marketer, file_name="客户.csv",
                           content="\n".join(lines).encode(), language="zh-hans")  # fmt: skip
        job = import_confirm(job=job, mapping={"0": "name", "1": "phone", "2": "stage"},
                             create_tags=False)  # fmt: skip
    job.refresh_from_db()
    assert job.status == "done", job.errors
    return dict(Contact.objects.for_tenant(tenant).values_list("name", "stage"))


def contact_names(response) -> list[str]:
    return sorted(c.name for c in response.context["page"].items)


# --- renaming keeps the old label ------------------------------------------------------------


def test_a_renamed_stage_still_imports_files_that_use_its_old_label(
    tenant, admin, marketer, django_capture_on_commit_callbacks
):
    rename(tenant, admin, lead="02-潜客")
    rename(tenant, admin, lead="02-潜在客户")
    assert aliases(tenant) == {"02-潜客": "lead"}
    landed = import_stages(
        tenant,
        marketer,
        django_capture_on_commit_callbacks,
        "02-潜客",
        "潜客",
        "02-潜在客户",
        "Lead",
    )
    assert landed == {"客户0": "lead", "客户1": "lead", "客户2": "lead", "客户3": "lead"}
    # the board and lists keep showing the current label
    response = client_for(admin).get(reverse("board", args=[tenant.slug]))
    assert "02-潜在客户" in response.content.decode()
    assert "02-潜客" not in response.content.decode()


def test_renaming_from_the_standard_name_keeps_no_alias(tenant, admin):
    rename(tenant, admin, lead="02-潜客")
    rename(tenant, admin, mql="Marketing qualified lead")  # typed, but the standard name
    rename(tenant, admin, mql="03-意向")
    assert aliases(tenant) == {}
    assert stage_resolve(tenant=tenant, text="marketing qualified lead") == "mql"


def test_renaming_a_stage_back_to_an_alias_makes_it_the_label_again(tenant, admin):
    rename(tenant, admin, lead="潜客")
    rename(tenant, admin, lead="线索客户")
    rename(tenant, admin, lead="潜客")
    assert aliases(tenant) == {"线索客户": "lead"}
    assert StageSetting.objects.for_tenant(tenant).get(stage="lead").label == "潜客"


def test_a_label_that_is_another_stages_alias_is_refused_and_nothing_saved(tenant, admin):
    stage_alias_add(tenant=tenant, actor=admin, stage="lead", name="潜客")
    with pytest.raises(ServiceError, match="“潜客” is already the name or an alias of the stage"):
        rename(tenant, admin, mql="潜客")
    assert not StageSetting.objects.for_tenant(tenant).filter(label="潜客").exists()


def test_renaming_through_the_settings_page_keeps_the_old_label_and_is_audited(
    tenant, admin, admin_client
):
    url = reverse("stage_settings", args=[tenant.slug])
    admin_client.post(url, {"lead-label": "02-潜客"})
    admin_client.post(url, {"lead-label": "02-潜在客户"})
    page = admin_client.get(url).content.decode()
    assert "02-潜客" in page  # listed among the aliases
    entry = AuditEntry.objects.for_tenant(tenant).filter(
        kind=AuditKind.STAGE_SETTINGS_CHANGED).order_by("-id").first()  # fmt: skip
    assert entry.details["stages"]["lead"]["aliases_added"] == ["02-潜客"]


# --- added aliases resolve everywhere ---------------------------------------------------------


def test_an_added_alias_resolves_in_imports(
    tenant, admin, marketer, django_capture_on_commit_callbacks
):
    stage_alias_add(tenant=tenant, actor=admin, stage="sql", name="电话咨询")
    landed = import_stages(
        tenant, marketer, django_capture_on_commit_callbacks, "电话咨询", "  电话咨询 ", "ｓｑｌ"
    )
    assert landed == {"客户0": "sql", "客户1": "sql", "客户2": "sql"}


def test_an_added_alias_filters_and_searches_the_contact_list(tenant, admin, sales_client):
    stage_alias_add(tenant=tenant, actor=admin, stage="sql", name="电话咨询")
    ContactFactory(tenant=tenant, name="王芳", stage="sql", furthest_stage="sql")
    ContactFactory(tenant=tenant, name="李四", stage="lead", furthest_stage="lead")
    url = reverse("contact_list", args=[tenant.slug])
    assert contact_names(sales_client.get(url, {"stage": "电话咨询"})) == ["王芳"]
    assert contact_names(sales_client.get(url, {"stage": "sql"})) == ["王芳"]
    assert contact_names(sales_client.get(url, {"q": "电话咨询"})) == ["王芳"]
    # a name no stage answers to finds nobody rather than everybody
    assert contact_names(sales_client.get(url, {"stage": "没有这个阶段"})) == []


def test_an_added_alias_is_accepted_by_the_api(tenant, admin):
    stage_alias_add(tenant=tenant, actor=admin, stage="mql", name="试听")
    api = ApiClient(token_for(admin))
    created = api.post("/contacts", {"name": "王芳", "email": "wf@example.com", "stage": "试听"})
    assert (created.status_code, created.json()["stage"]) == (201, "mql")
    contact_id = created.json()["id"]
    listed = api.get("/contacts", {"stage": "试听"}).json()["items"]
    assert [c["id"] for c in listed] == [contact_id]
    moved = api.post(f"/contacts/{contact_id}/stage",
                     {"stage": "Sales qualified lead", "expected_stage": "试听"})  # fmt: skip
    assert (moved.status_code, moved.json()["stage"]) == (200, "sql")
    unknown = api.post(f"/contacts/{contact_id}/stage", {"stage": "没有这个阶段"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "There is no stage or alias “没有这个阶段”."
    assert Contact.objects.for_tenant(tenant).get(pk=contact_id).stage == "sql"


# --- clashes, removal, companies, roles --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "lead",
        "Lead",
        "潜在客户",
        "02-潜客",
        "潜客",
        "电话 咨询",
        " 电话  咨询 ",
        "０２－潜客",
        "ＬＥＡＤ",
    ],
    ids=[
        "key",
        "english-name",
        "chinese-name",
        "label",
        "label-unnumbered",
        "alias",
        "spaces",
        "full-width-label",
        "full-width-key",
    ],
)
def test_an_alias_that_names_another_stage_is_refused_with_a_message(tenant, admin, name):
    rename(tenant, admin, lead="02-潜客")
    stage_alias_add(tenant=tenant, actor=admin, stage="lead", name="电话 咨询")
    with pytest.raises(
        ServiceError, match="is already the name or an alias of the stage “02-潜客”"
    ):
        stage_alias_add(tenant=tenant, actor=admin, stage="sql", name=name)
    assert aliases(tenant) == {"电话 咨询": "lead"}


def test_a_clash_on_the_settings_page_is_refused_with_a_message(tenant, admin, admin_client):
    response = admin_client.post(
        reverse("stage_alias_add", args=[tenant.slug, "sql"]), {"name": "Customer"}, follow=True
    )
    assert "“Customer” is already the name or an alias of the stage" in response.content.decode()
    assert aliases(tenant) == {}


def test_aliases_of_one_company_never_resolve_for_another(tenant, other_tenant, admin, outsider):
    stage_alias_add(tenant=tenant, actor=admin, stage="sql", name="电话咨询")
    assert stage_resolve(tenant=tenant, text="电话咨询") == "sql"
    assert stage_resolve(tenant=other_tenant, text="电话咨询") is None
    # the other company may use the same name for a stage of its own
    stage_alias_add(tenant=other_tenant, actor=outsider, stage="lead", name="电话咨询")
    assert stage_resolve(tenant=other_tenant, text="电话咨询") == "lead"
    assert stage_resolve(tenant=tenant, text="电话咨询") == "sql"


def test_removing_an_alias_stops_it_resolving_and_is_audited(tenant, admin, admin_client):
    stage_alias_add(tenant=tenant, actor=admin, stage="sql", name="电话咨询")
    alias = StageAlias.objects.for_tenant(tenant).get()
    response = admin_client.post(
        reverse("stage_alias_remove", args=[tenant.slug, alias.pk]), follow=True
    )
    assert "Alias “电话咨询” removed." in response.content.decode()
    assert stage_resolve(tenant=tenant, text="电话咨询") is None
    entries = AuditEntry.objects.for_tenant(tenant).filter(
        kind=AuditKind.STAGE_SETTINGS_CHANGED).order_by("id")  # fmt: skip
    assert [e.details["stages"]["sql"] for e in entries] == [
        {"label": "", "aliases_added": ["电话咨询"]},
        {"label": "", "aliases_removed": ["电话咨询"]},
    ]


def test_only_admins_add_or_remove_aliases(tenant, admin, marketer, marketer_client):
    with pytest.raises(ServiceError, match="Only admins"):
        stage_alias_add(tenant=tenant, actor=marketer, stage="sql", name="电话咨询")
    alias = stage_alias_add(tenant=tenant, actor=admin, stage="sql", name="电话咨询")
    with pytest.raises(ServiceError, match="Only admins"):
        stage_alias_remove(alias=alias, actor=marketer)
    added = marketer_client.post(reverse("stage_alias_add", args=[tenant.slug, "sql"]),
                                 {"name": "新名字"})  # fmt: skip
    removed = marketer_client.post(reverse("stage_alias_remove", args=[tenant.slug, alias.pk]))
    assert (added.status_code, removed.status_code) == (403, 403)
    assert aliases(tenant) == {"电话咨询": "sql"}


def test_another_companys_alias_cannot_be_removed(tenant, other_tenant, outsider, admin_client):
    foreign = stage_alias_add(tenant=other_tenant, actor=outsider, stage="sql", name="电话咨询")
    response = admin_client.post(reverse("stage_alias_remove", args=[tenant.slug, foreign.pk]))
    assert response.status_code == 404
    assert aliases(other_tenant) == {"电话咨询": "sql"}


def test_an_empty_or_unknown_stage_alias_is_refused(tenant, admin, admin_client):
    with pytest.raises(ServiceError, match="An alias needs a name."):
        stage_alias_add(tenant=tenant, actor=admin, stage="sql", name="   ")
    with pytest.raises(ServiceError, match="Unknown stage."):
        stage_alias_add(tenant=tenant, actor=admin, stage="nope", name="x")
    response = admin_client.post(reverse("stage_alias_add", args=[tenant.slug, "nope"]),
                                 {"name": "x"})  # fmt: skip
    assert response.status_code == 404
    assert aliases(tenant) == {}


def test_the_aliases_table_is_under_row_level_security(db):
    assert "lifecycle_stagealias" in tenant_tables()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
            ["lifecycle_stagealias"],
        )
        assert cursor.fetchone() == (True, True)
