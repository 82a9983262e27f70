"""The data migration normalises the phones, emails and WeChat IDs stored before, company by
company; a value that would collide with another contact's stays as it was, reported, and the
pair is left for the duplicate finder (never merged)."""

import importlib
import logging

from django.apps import apps

from crm.merges import likely_duplicates
from crm.models import Contact
from tests.factories import ContactFactory

migration = importlib.import_module("crm.migrations.0007_contact_channels_normalised")


def stored(contact):
    contact.refresh_from_db()
    return (contact.phone, contact.email, contact.wechat_id)


def reports(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_old_values_are_normalised_company_by_company(tenant, other_tenant, caplog):
    full_width = ContactFactory(
        tenant=tenant, phone="１３９１１１１２２２２", email="", wechat_id=""
    )
    with_86 = ContactFactory(tenant=tenant, phone="861088886666", email="", wechat_id="")
    api_made = ContactFactory(
        tenant=tenant, phone="", email="ＬＩＮＡ@ＱＱ.ＣＯＭ", wechat_id="ｌｉｎａ＿８８"
    )
    fine = ContactFactory(tenant=tenant, phone="13800138000", email="zw@qq.com", wechat_id="zw")
    # the same old value in another company is that company's: normalised there too
    elsewhere = ContactFactory(tenant=other_tenant, phone="１３９１１１１２２２２", email="")
    with caplog.at_level(logging.INFO, logger="crm.migrations"):
        migration.normalise_contacts(apps, None)
    assert stored(full_width) == ("13911112222", "", "")
    assert stored(with_86) == ("01088886666", "", "")
    assert stored(api_made) == ("", "lina@qq.com", "lina_88")
    assert stored(fine) == ("13800138000", "zw@qq.com", "zw")
    assert stored(elsewhere)[0] == "13911112222"
    assert reports(caplog) == []


def test_a_collision_keeps_the_later_value_and_is_reported(tenant, caplog):
    first = ContactFactory(tenant=tenant, name="陈静", phone="01088886666")
    later = ContactFactory(tenant=tenant, name="Jing Chen", phone="861088886666")
    # two old spellings of one new number: the earlier contact takes it, the later keeps its own
    early = ContactFactory(tenant=tenant, name="孙丽", phone="8613766667777")
    late = ContactFactory(tenant=tenant, name="Sun Li", phone="008613766667777")
    unreadable = ContactFactory(tenant=tenant, name="老客户", phone="12345")
    with caplog.at_level(logging.WARNING, logger="crm.migrations"):
        migration.normalise_contacts(apps, None)
    assert [stored(c)[0] for c in (first, later, early, late, unreadable)] == [
        "01088886666", "861088886666", "13766667777", "008613766667777", "12345",
    ]  # fmt: skip
    assert reports(caplog) == [
        f"Normalising contacts of company {tenant.pk}: contact {later.pk} keeps phone "
        f"'861088886666': as '01088886666' it is contact {first.pk}'s (a duplicate, not merged)",
        f"Normalising contacts of company {tenant.pk}: contact {late.pk} keeps phone "
        f"'008613766667777': as '13766667777' it is contact {early.pk}'s (a duplicate, not "
        "merged)",
        f"Normalising contacts of company {tenant.pk}: contact {unreadable.pk} keeps phone "
        "'12345': too_short, not a phone",
    ]
    # nothing merged: the duplicate finder lists each pair, both ways
    assert Contact.objects.for_tenant(tenant).count() == 5
    assert later in likely_duplicates(contact=first) and first in likely_duplicates(contact=later)
    assert late in likely_duplicates(contact=early) and early in likely_duplicates(contact=late)


def test_a_contact_already_in_the_stored_form_keeps_its_value(tenant, caplog):
    old = ContactFactory(tenant=tenant, phone="", email="", wechat_id="ＷＸ＿ＡＢＣ")
    new = ContactFactory(tenant=tenant, phone="", email="", wechat_id="wx_abc")
    with caplog.at_level(logging.WARNING, logger="crm.migrations"):
        migration.normalise_contacts(apps, None)
    assert (stored(old)[2], stored(new)[2]) == ("ＷＸ＿ＡＢＣ", "wx_abc")
    assert reports(caplog) == [
        f"Normalising contacts of company {tenant.pk}: contact {old.pk} keeps wechat_id "
        f"'ＷＸ＿ＡＢＣ': as 'wx_abc' it is contact {new.pk}'s (a duplicate, not merged)"
    ]


def test_running_it_again_changes_and_reports_nothing_more(tenant, caplog):
    ContactFactory(tenant=tenant, phone="861088886666")
    ContactFactory(tenant=tenant, phone="01088886666")
    migration.normalise_contacts(apps, None)
    before = list(Contact.objects.for_tenant(tenant).order_by("pk").values())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crm.migrations"):
        migration.normalise_contacts(apps, None)
    assert list(Contact.objects.for_tenant(tenant).order_by("pk").values()) == before
    assert len(reports(caplog)) == 1  # the same duplicate, named again


def test_a_full_width_duplicate_kept_by_the_migration_is_listed_by_the_finder(tenant):
    first = ContactFactory(tenant=tenant, name="张伟", phone="13800138000")
    later = ContactFactory(tenant=tenant, name="Zhang Wei", phone="１３８００１３８０００")
    migration.normalise_contacts(apps, None)
    assert stored(later)[0] == "１３８００１３８０００"
    assert later in likely_duplicates(contact=first)
