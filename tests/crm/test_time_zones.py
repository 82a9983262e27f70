"""The company's time zone is chosen by city and country in the reader's language, with today's
offset from UTC; the value kept is still the tz database's name."""

import re
from datetime import UTC, datetime

from django.urls import reverse
from django.utils import translation

from crm.timezones import time_zone_choices, time_zone_label
from tests.conftest import client_for


def settings_page(admin, language: str) -> str:
    admin.user.language = language
    admin.user.save(update_fields=["language"])
    url = reverse("tenant_settings", args=[admin.tenant.slug])
    return client_for(admin).get(url).content.decode()


def option(html: str, zone: str) -> str:
    """The first option of `zone` in the page's time zone list."""
    return re.search(rf'<option value="{re.escape(zone)}"[^>]*>([^<]*)</option>', html).group(1)


def test_the_list_names_cities_in_the_readers_language(admin):
    chinese = settings_page(admin, "zh-hans")
    assert option(chinese, "Asia/Shanghai") == "上海（中国） · UTC+8"
    assert option(chinese, "America/Argentina/Buenos_Aires") == "布宜诺斯艾利斯（阿根廷） · UTC-3"
    assert option(chinese, "Asia/Singapore") == "新加坡 · UTC+8"  # a city that is its country
    assert '<optgroup label="常用">' in chinese and '<optgroup label="欧洲">' in chinese

    english = settings_page(admin, "en")
    assert option(english, "Asia/Shanghai") == "Shanghai (China) · UTC+8"
    assert option(english, "Asia/Kolkata") == "Kolkata (India) · UTC+5:30"
    assert '<optgroup label="Often chosen">' in english
    assert ">Asia/Shanghai<" not in english  # the tz database's names are not what is read


def test_the_offset_is_the_one_in_force_that_day():
    winter, summer = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
    with translation.override("en"):
        assert time_zone_label("Europe/London", winter) == "London (United Kingdom) · UTC"
        assert time_zone_label("Europe/London", summer) == "London (United Kingdom) · UTC+1"
        assert time_zone_label("America/New_York", winter).endswith("· UTC-5")


def test_a_zone_the_list_does_not_name_stays_chosen_and_choosable(admin_client, tenant):
    """A company kept under an old alias ("PRC") sees it selected, and may save it again."""
    tenant.time_zone = "PRC"
    tenant.save(update_fields=["time_zone"])
    with translation.override("en"):
        other = dict(time_zone_choices(current="PRC"))["Other"]
    assert other == [("PRC", "PRC · UTC+8")]

    url = reverse("tenant_settings", args=[tenant.slug])
    assert '<option value="PRC" selected>' in admin_client.get(url).content.decode()
    data = {"name": tenant.name, "time_zone": "PRC", "default_language": "zh-hans"}
    assert admin_client.post(url, data).status_code == 302


def test_a_chosen_city_keeps_the_tz_database_name(admin_client, tenant):
    url = reverse("tenant_settings", args=[tenant.slug])
    data = {"name": tenant.name, "time_zone": "Asia/Kolkata", "default_language": "zh-hans"}
    assert admin_client.post(url, data).status_code == 302
    tenant.refresh_from_db()
    assert tenant.time_zone == "Asia/Kolkata"
    page = admin_client.get(url).content.decode()
    assert '<option value="Asia/Kolkata" selected>' in page

    refused = admin_client.post(url, {**data, "time_zone": "Mars/Olympus"})
    assert refused.status_code == 200
    tenant.refresh_from_db()
    assert tenant.time_zone == "Asia/Kolkata"
