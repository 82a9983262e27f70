"""A salesperson sorting the contact list by name finds it in pinyin order, as a phone book
reads (安, 白, 陈, 丁 …), with names in Latin letters among them; the sort key is kept with the
name whichever way the name was written, and the list pages along it."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from crm.merges import contact_merge
from crm.models import Contact
from crm.services import ContactData, contact_create, contact_update
from crm.sortkeys import name_sort_key
from integrations.services import contact_submit
from lifecycle.services import contact_create_at_stage
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import reading
from tests.factories import ContactFactory

migration = importlib.import_module("crm.migrations.0014_contact_name_sort_filled")


def names(response) -> list[str]:
    return [row.name for row in response.context["page"].items]


def by_name(client, tenant, sort="name", **params) -> list[str]:
    return names(client.get(reverse("contact_list", args=[tenant.slug]), {"sort": sort, **params}))


def test_names_sort_by_pinyin_with_latin_names_among_them(sales_client, tenant):
    for name in ("丁", "万", "于", "陈", "白", "安", "Bob", "alice"):
        ContactFactory(tenant=tenant, name=name)
    # ding, wan, yu, chen, bai, an; not by character code (丁 万 于 安 白 陈)
    expected = ["alice", "安", "白", "Bob", "陈", "丁", "万", "于"]
    assert by_name(sales_client, tenant) == expected
    assert by_name(sales_client, tenant, sort="-name") == expected[::-1]


def test_a_surname_reads_as_a_surname_and_a_phrase_as_its_words():
    # 曾 zeng, not ceng; 单 shan, not dan; but the compound surname 单于 reads chan yu
    order = ["单于雪", "陈伟", "邓丽君", "单田芳", "孙俪", "曾国藩", "张三"]
    assert sorted(order, key=name_sort_key) == order  # by character code: 单 孙 张 曾 邓 陈
    assert name_sort_key("曾国藩") == "zeng guo fan\t曾国藩"
    assert name_sort_key("长安汽车") == "chang an qi che\t长安汽车"  # 长 alone reads zhang
    assert name_sort_key(" ＬＩ  Ｎａ ") == "li na\tli na"  # full width and spacing as typed


def test_the_same_name_stands_together_and_before_longer_ones(sales_client, tenant):
    for name in ("陈伟", "陈", "谌伟", "陈伟", "Chen Wei"):
        ContactFactory(tenant=tenant, name=name)
    # chen; then chen wei (the Latin spelling, 谌伟, both 陈伟): homophones apart, twins together
    assert by_name(sales_client, tenant) == ["陈", "Chen Wei", "谌伟", "陈伟", "陈伟"]


def test_pages_by_name_follow_pinyin_forward_and_back(sales_client, tenant, settings):
    settings.CONTACTS_PAGE_SIZE = 2
    expected = ["安", "白", "陈", "丁", "方", "高", "韩"]
    for name in reversed(expected):
        ContactFactory(tenant=tenant, name=name)
    list_url = reverse("contact_list", args=[tenant.slug])
    response = sales_client.get(list_url, {"sort": "name"})
    pages = [names(response)]
    while response.context["page"].has_next:
        cursor = response.context["page"].next_cursor
        response = sales_client.get(list_url, {"sort": "name", "after": cursor})
        pages.append(names(response))
    assert pages == [["安", "白"], ["陈", "丁"], ["方", "高"], ["韩"]]
    back = sales_client.get(
        list_url, {"sort": "name", "before": response.context["page"].prev_cursor}
    )
    assert names(back) == ["方", "高"]


def keys_kept(tenant) -> bool:
    rows = Contact.objects.for_tenant(tenant).values_list("name", "name_sort")
    return all(key == name_sort_key(name) for name, key in rows) and rows.exists()


def test_every_way_a_name_is_written_keeps_its_sort_key(tenant, admin, marketer):
    made = contact_create(tenant=tenant, actor=admin, data=ContactData(name="白雪"))
    contact_update(contact=made, actor=admin, data=ContactData(name="曾小贤"))
    assert Contact.objects.get(pk=made.pk).name_sort == "zeng xiao xian\t曾小贤"
    contact_create_at_stage(
        tenant=tenant,
        actor=admin,
        data=ContactData(name="单田芳", phone="13500003333"),
        stage="lead",
    )
    contact_submit(tenant=tenant, actor=admin, data=ContactData(name="Alice 王"), stage=None,
                   tags=[], upsert=False, given={})  # fmt: skip
    kept = contact_create(
        tenant=tenant, actor=admin, data=ContactData(name="陈", phone="13900001111")
    )
    other = contact_create(tenant=tenant, actor=admin, data=ContactData(name="丁一"))
    contact_merge(survivor=kept, merged=other, actor=admin, take_from_merged={"name"})
    assert Contact.objects.get(pk=kept.pk).name_sort == "ding yi\t丁一"
    # an import: one person new, one already here (filled, set-based)
    content = "姓名,手机,公司\n万象,13700002222,\n陈,13900001111,腾飞\n".encode()
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="people.csv",
                               content=content, language="en")  # fmt: skip
    job.mapping = imports.guess_mapping(reading.read_table(content, "people.csv")[2][0])
    job.save()
    job = imports.import_run(job=job)
    assert (job.created, job.updated) == (1, 1)
    assert Contact.objects.for_tenant(tenant).get(name="万象").name_sort == "wan xiang\t万象"
    assert keys_kept(tenant)


def test_a_write_that_forgets_the_sort_key_is_refused(tenant):
    # bulk_create calls no save(): a writer of names must give the key itself
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.bulk_create([Contact(tenant=tenant, name="王五", phone="13600000000")])
    assert not Contact.objects.for_tenant(tenant).exists()


def test_the_migration_gives_existing_contacts_their_keys_in_batches(
    tenant, other_tenant, monkeypatch
):
    for name in ("安", "曾国藩", "Bob"):
        ContactFactory(tenant=tenant, name=name)
    ContactFactory(tenant=other_tenant, name="丁")
    # as before the migration: no key to speak of (an empty one the check refuses now)
    Contact.objects.for_tenant(tenant).update(name_sort="-")
    Contact.objects.for_tenant(other_tenant).update(name_sort="-")
    monkeypatch.setattr(migration, "BATCH", 2)
    migration.fill(None, SimpleNamespace(connection=connection))
    assert keys_kept(tenant) and keys_kept(other_tenant)
