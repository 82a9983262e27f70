"""The project itself: settings from the environment, demo data, translations."""

import gettext
import os
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command
from django.db.models import Count

from crm.models import Contact, Membership, Tenant

ROOT = Path(__file__).resolve().parents[2]


def _settings_check(env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "crm.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_check({"ALLOWED_HOSTS": "crm.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_wildcard_host():
    result = _settings_check({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0
    assert "'*' is refused" in result.stderr


def test_debug_runs_with_the_embedded_defaults():
    assert _settings_check({"DEBUG": "1"}).returncode == 0


def test_a_yes_or_no_setting_it_does_not_understand_stops_the_start():
    """DEBUG=ture, HTTPS_ONLY=nope: refused with the setting's name, never read as false."""
    result = _settings_check({"DEBUG": "ture"})
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'ture'" in result.stderr


def test_seed_demo_builds_the_english_school_and_twice_changes_nothing(db, capsys):
    call_command("seed_demo")
    school = Tenant.objects.get(slug="english-school")
    assert school.name == "英语口语培训班"
    assert Contact.objects.for_tenant(school).count() == 2000
    roles = dict(Membership.objects.for_tenant(school).values_list("user__username", "role"))
    assert roles == {"wang": "admin", "li": "marketer", "zhao": "sales"}
    snapshot = list(Contact.objects.for_tenant(school).order_by("pk").values())
    out = capsys.readouterr().out
    assert "wang" in out and "funnel-demo-2026" in out

    from lifecycle.models import StageChange
    from tagging.models import ContactTag, Event, Rule, TagGroup

    activity = [
        model.objects.for_tenant(school).count()
        for model in (StageChange, Event, ContactTag, TagGroup, Rule)
    ]
    assert all(activity), activity
    stages = dict(Contact.objects.for_tenant(school).values_list("stage").annotate(n=Count("id")))
    assert stages["subscriber"] > stages["lead"] > stages["mql"] > stages["sql"]  # a funnel

    # the side list has views to show, each of which opens with nothing left out
    from crm.models import SavedView
    from crm.savedviews import view_reopened
    from crm.views import filter_query

    views = SavedView.objects.for_tenant(school).order_by("name")
    assert sorted(views.values_list("owner__user__username", "shared")) == [
        ("li", True), ("li", True), ("zhao", False)
    ]  # fmt: skip
    for view in views:
        assert not view_reopened(view=view, tenant=school, serialise=filter_query).left_out

    call_command("seed_demo")
    assert list(Contact.objects.for_tenant(school).order_by("pk").values()) == snapshot
    assert SavedView.objects.for_tenant(school).count() == 3
    assert Membership.objects.count() == 5
    assert activity == [
        model.objects.for_tenant(school).count()
        for model in (StageChange, Event, ContactTag, TagGroup, Rule)
    ]


def _catalog():
    po = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
    mo = ROOT / "locale/zh_Hans/LC_MESSAGES/django.mo"
    return po, mo


def _po_entries(text: str) -> list[tuple[str, str, bool, bool]]:
    """(msgid, msgstr, fuzzy, plural) for each entry of a .po file, enough for our own files."""
    entries, fuzzy, plural, key = [], False, False, None
    current = {"msgctxt": "", "msgid": "", "msgstr": ""}
    for line in [*text.splitlines(), ""]:
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith(("msgctxt ", "msgid ", "msgstr ", "msgid_plural ", "msgstr[0] ")):
            word, value = line.split(" ", 1)
            plural = plural or word == "msgid_plural"
            key = {"msgstr[0]": "msgstr", "msgid_plural": None}.get(word, word)
            if key:
                current[key] = value[1:-1]
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
        elif not line.strip() and (key or plural):
            msgid = current["msgid"]
            if current["msgctxt"]:
                msgid = f"{current['msgctxt']}\x04{msgid}"
            entries.append((msgid, current["msgstr"], fuzzy, plural))
            fuzzy, plural, key = False, False, None
            current = {"msgctxt": "", "msgid": "", "msgstr": ""}
    return [e for e in entries if e[0]]


def test_every_string_has_a_chinese_translation_and_the_mo_is_compiled():
    po, mo = _catalog()
    entries = _po_entries(po.read_text())
    assert len(entries) > 100
    assert [e[0] for e in entries if not e[1] or e[2]] == []
    compiled = gettext.GNUTranslations(mo.open("rb"))
    stale = [
        msgid
        for msgid, msgstr, _fuzzy, plural in entries
        if "\\" not in msgid
        and (compiled.ngettext(msgid, msgid, 1) if plural else compiled.gettext(msgid)) != msgstr
    ]
    assert stale == [], "run `make messages` to compile the .mo"
