"""Writes crm/timezone_names.py: each time zone of the tz database's zone.tab with its city and
country in English and Chinese, as the Unicode CLDR says them (through Babel, which the project
does not otherwise need). Run again when the tz database gains zones:

    python -m venv /tmp/cldr && /tmp/cldr/bin/pip install babel
    /tmp/cldr/bin/python tools/make_timezone_names.py /usr/share/zoneinfo/zone.tab
"""

import json
import sys
from pathlib import Path

from babel import Locale, __version__
from babel.dates import get_timezone_location

LANGUAGES = ("en", "zh_Hans")
TARGET = Path(__file__).resolve().parent.parent / "crm" / "timezone_names.py"


def zones(zone_tab: str) -> dict[str, str]:
    """zone -> its country's code, from zone.tab."""
    found = {}
    for line in Path(zone_tab).read_text().splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone, *_comment = line.split("\t")
            found[zone] = code
    return found


def said(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def main(zone_tab: str) -> None:
    found = zones(zone_tab)
    locales = [Locale.parse(language) for language in LANGUAGES]
    lines = [
        '"""Time zones by city and country, in English and Chinese (Unicode CLDR, through Babel',
        f"{__version__}). Written by tools/make_timezone_names.py: do not edit by hand.",
        '"""',
        "",
        "# zone -> (country code, city in English, city in Chinese)",
        "ZONES = {",
    ]
    for zone in sorted(found):
        cities = [get_timezone_location(zone, locale=loc, return_city=True) for loc in locales]
        lines.append(
            f"    {said(zone)}: ({said(found[zone])}, {said(cities[0])}, {said(cities[1])}),"
        )
    lines += ["}", "", "# country code -> (in English, in Chinese)", "COUNTRIES = {"]
    for code in sorted(set(found.values())):
        names = [loc.territories[code] for loc in locales]
        lines.append(f"    {said(code)}: ({said(names[0])}, {said(names[1])}),")
    lines.append("}")
    TARGET.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
