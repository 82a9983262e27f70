"""The company's time zone, chosen by city and country in the reader's language ("上海（中国）·
UTC+8", "Shanghai (China) · UTC+8"), not by the tz database's "Asia/Shanghai". The names are the
Unicode CLDR's (crm/timezone_names.py); the offset is today's, so summer time shows as it is."""

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .sortkeys import name_sort_key
from .timezone_names import COUNTRIES, ZONES

# First in the list: where this product's companies mostly are, and where they most often deal.
OFTEN_CHOSEN = (
    "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore",
    "Asia/Kuala_Lumpur", "Asia/Tokyo", "Asia/Seoul", "Asia/Bangkok", "Asia/Dubai",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Toronto", "America/Vancouver", "Australia/Sydney",
    "Australia/Melbourne", "Pacific/Auckland", "UTC",
)  # fmt: skip


def _regions() -> dict[str, str]:
    """The tz database's first word, in the reader's language, in the order the list shows."""
    return {
        "Asia": _("Asia"),
        "Europe": _("Europe"),
        "America": _("The Americas"),
        "Australia": _("Australia"),
        "Pacific": _("Pacific"),
        "Africa": _("Africa"),
        "Indian": _("Indian Ocean"),
        "Atlantic": _("Atlantic"),
        "Antarctica": _("Antarctica"),
        "Arctic": _("Arctic"),
    }


def _chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


def _offset(zone: str, at: datetime) -> str:
    """ "UTC+8", "UTC+5:30", "UTC-3", "UTC" at `at`."""
    offset = at.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    if not minutes:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, minutes = divmod(minutes, 60)
    return f"UTC{sign}{hours}:{minutes:02d}" if minutes else f"UTC{sign}{hours}"


def _place(zone: str) -> str:
    """ "上海（中国）", "Shanghai (China)"; a place that is its own country once ("新加坡")."""
    if zone == "UTC":
        return _("Coordinated Universal Time")
    country, *cities = ZONES[zone]
    city, name = (
        (cities[1], COUNTRIES[country][1]) if _chinese() else (cities[0], COUNTRIES[country][0])
    )
    if city in name:  # Singapore, Hong Kong SAR China
        return name
    return pgettext("a city and its country", "%(city)s (%(country)s)") % {
        "city": city,
        "country": name,
    }


def time_zone_label(zone: str, at: datetime | None = None) -> str:
    """A time zone as the reader reads it; one the list does not know, by its own name."""
    at = at or datetime.now(UTC)
    place = _place(zone) if zone == "UTC" or zone in ZONES else zone.replace("_", " ")
    return pgettext("a place and its offset from UTC", "%(place)s · %(offset)s") % {
        "place": place,
        "offset": _offset(zone, at),
    }


def _sort_key(label: str) -> str:
    return name_sort_key(label) if _chinese() else label.casefold()


@functools.lru_cache(maxsize=16)
def _choices(language: str, hour: datetime) -> list:
    with translation.override(language):
        known = zoneinfo.available_timezones()
        zones = [zone for zone in ZONES if zone in known]
        labels = {zone: time_zone_label(zone, hour) for zone in [*zones, "UTC"]}
        groups = [(_("Often chosen"), [(zone, labels[zone]) for zone in OFTEN_CHOSEN])]
        for region, region_label in _regions().items():
            inside = [zone for zone in zones if zone.split("/")[0] == region]
            inside.sort(key=lambda zone: _sort_key(labels[zone]))
            groups.append((region_label, [(zone, labels[zone]) for zone in inside]))
        return groups


def time_zone_choices(current: str = "") -> list:
    """The choices of a time zone field, grouped: often chosen, then by part of the world. A
    zone the company has that the list does not name (an old alias, "PRC") stays choosable."""
    now = datetime.now(UTC)
    groups = list(
        _choices(translation.get_language() or "", now.replace(minute=0, second=0, microsecond=0))
    )
    if current and current != "UTC" and current not in ZONES:
        groups.append((_("Other"), [(current, time_zone_label(current, now))]))
    return groups
