"""Rule outcomes stored by older versions as sentences ("已移动", "tagged “X”") become the codes
the rules service stores today ({"moved": stage}, {"tagged": label}). Entries that cannot be read
back stay as they are; the page shows them plainly."""

import re

from django.db import migrations

MOVED = re.compile(r"^(?:已移动|moved to “.*”|已移动到“.*”)$")
TAGGED = re.compile(r"^(?:tagged “(?P<a>.*)”|已添加标签“(?P<b>.*)”|已添加“(?P<c>.*)”)$")
UNTAGGED = re.compile(r"^(?:untagged “(?P<a>.*)”|已移除标签“(?P<b>.*)”)$")
WHY = {
    "not moved: rules never move a contact back": "backward_not_allowed",
    "未移动：规则不会把联系人退回之前的阶段": "backward_not_allowed",
    "already in this stage": "same_stage",
    "已处于此阶段": "same_stage",
    "not moved: the contact is marked lost": "lost",
    "未移动：该联系人已标记为流失": "lost",
}


def _label(match) -> str:
    return next(value for value in match.groupdict().values() if value is not None)


def done_as_code(entry, to_stage: str):
    if not isinstance(entry, str):
        return entry
    if MOVED.match(entry) and to_stage:
        return {"moved": to_stage}
    if match := TAGGED.match(entry):
        return {"tagged": _label(match)}
    if match := UNTAGGED.match(entry):
        return {"untagged": _label(match)}
    return entry


def why_as_code(entry):
    if isinstance(entry, str) and entry in WHY:
        return {"code": WHY[entry]}
    return entry


def outcome_as_codes(outcome, rule_stages: dict) -> list:
    """The outcome in today's shape; `rule_stages` maps rule ids to their target stage."""
    if not isinstance(outcome, list):
        return outcome
    converted = []
    for result in outcome:
        if isinstance(result, dict):
            to_stage = rule_stages.get(result.get("rule"), "")
            result = {
                **result,
                "done": [done_as_code(e, to_stage) for e in result.get("done") or []],
                "why": [why_as_code(e) for e in result.get("why") or []],
            }
        converted.append(result)
    return converted


def forwards(apps, schema_editor):
    Event = apps.get_model("tagging", "Event")
    Rule = apps.get_model("tagging", "Rule")
    rule_stages = dict(Rule.objects.values_list("pk", "to_stage"))
    changed = []
    for event in Event.objects.only("pk", "outcome").order_by("pk").iterator(chunk_size=2000):
        outcome = outcome_as_codes(event.outcome, rule_stages)
        if outcome != event.outcome:
            event.outcome = outcome
            changed.append(event)
        if len(changed) >= 1000:
            Event.objects.bulk_update(changed, ["outcome"])
            changed = []
    Event.objects.bulk_update(changed, ["outcome"])


class Migration(migrations.Migration):
    dependencies = [("tagging", "0008_import_merged_rows")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
