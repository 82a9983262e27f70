"""Only the lifecycle app writes a contact's place in the funnel (stage, furthest stage, when it
entered, its version) or history rows: imports, merges, rules and the API go through its
services. A test reads the source of the other apps for every way of writing them: model
saves and creates, `.update(`, bulk inserts and COPY, raw SQL."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
OTHERS = tuple(app for app in settings.OUR_APPS if app != "lifecycle")
# data generators that write months of backdated history at once, by design
ALLOWED = {
    "demo/management/commands/seed_demo.py",
    "bench/management/commands/bench_bulk_move.py",
    "bench/management/commands/bench_funnel.py",
    "bench/management/commands/bench_import.py",
}
FUNNEL_FIELD = r"(?:stage|furthest_stage|stage_entered_at|stage_version)"
WRITES = [
    re.compile(
        r"StageChange(?:\(|\.objects\.(?:create|bulk_create|update_or_create|get_or_create))"
    ),
    re.compile(r"insert_rows\(\s*StageChange"),
    re.compile(r"\.update\([^)]*\b" + FUNNEL_FIELD + r"\s*="),
    re.compile(r"\.(?:enter_stage)\("),
    # on a model (an import's row, a Record, keeps a stage of its own before it is applied)
    re.compile(
        r"\b(?!record\b|target\b)\w+\.(?:stage|furthest_stage|stage_entered_at|stage_version)\s*=[^=]"
    ),
    re.compile(r"(?i)(?:insert\s+into|copy|update)\s+lifecycle_stagechange"),
    re.compile(r"(?i)update\s+crm_contact\b[^;]*\bset\b[^;]*\b" + FUNNEL_FIELD + r"\s*="),
    re.compile(r'"(?:stage|furthest_stage|stage_entered_at|stage_version)"[^\n]*\]\s*,?\s*$'),
]


def sources() -> dict[str, str]:
    found = {}
    for package in OTHERS:
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if "migrations" not in path.parts and name not in ALLOWED:
                found[name] = path.read_text()
    return found


def offending_lines(texts: dict[str, str]) -> list[str]:
    found = []
    for name, text in texts.items():
        for pattern in WRITES:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {match.group(0).strip()}")
    return sorted(found)


def test_no_other_app_writes_the_funnel_fields_or_history():
    assert offending_lines(sources()) == []


def test_the_guard_sees_each_way_of_writing():
    sample = (
        "StageChange.objects.create(x=1)\n"
        "bulk.insert_rows(StageChange, [], [])\n"
        "Contact.objects.filter(pk=1).update(furthest_stage='sql')\n"
        "contact.stage = 'sql'\n"
        "cursor.execute('INSERT INTO lifecycle_stagechange (id) VALUES (1)')\n"
        "cursor.execute('UPDATE crm_contact SET stage = %s')\n"
        "record.stage = 'sql'  # an import's row, not a contact\n"
    )
    assert len(offending_lines({"sample.py": sample})) == 6
