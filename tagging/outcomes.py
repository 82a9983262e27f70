"""What a rule did for an event, stored as codes and put into words when shown, so the history
reads in the reader's language, with the company's current stage names."""

import logging
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _

from lifecycle.selectors import stage_settings
from lifecycle.stages import REQUIREMENTS

from .selectors import event_kinds

logger = logging.getLogger(__name__)


@dataclass
class RuleOutcome:
    """What one rule did for one event: the only shape stored in `Event.outcome`.

    The rules service and the demo seeder both build outcomes here, so the stored shape and the
    one `describe` reads cannot drift apart."""

    rule_id: int
    name: str
    done: list[dict] = field(default_factory=list)
    why: list[dict] = field(default_factory=list)

    def moved(self, stage: str) -> "RuleOutcome":
        self.done.append({"moved": stage})
        return self

    def tagged(self, tag_label: str) -> "RuleOutcome":
        self.done.append({"tagged": tag_label})
        return self

    def untagged(self, tag_label: str) -> "RuleOutcome":
        self.done.append({"untagged": tag_label})
        return self

    def not_moved(self, code: str, missing: list[str] | None = None) -> "RuleOutcome":
        self.why.append({"code": code, "missing": list(missing)} if missing else {"code": code})
        return self

    def stored(self) -> dict:
        return {"rule": self.rule_id, "name": self.name, "done": self.done, "why": self.why}


def rule_title(rule, kind_labels: dict, stage_labels: dict) -> str:
    """A rule's own name, or "what happens → stage" when it has none."""
    if rule.name:
        return rule.name
    parts = [kind_labels.get(rule.event_kind, rule.event_kind)]
    if rule.to_stage:
        parts.append(stage_labels[rule.to_stage])
    return " → ".join(parts)


def stored_rule_title(rule, tenant) -> str:
    """The title kept in history rows, in the company's language (rules can be deleted later)."""
    with translation.override(tenant.default_language):
        labels = {k: s.display_label for k, s in stage_settings(tenant=tenant).items()}
        return rule_title(rule, event_kinds(tenant=tenant), labels)


def _plainly(item) -> str:
    """An entry this code does not know (written by an older version, or by hand): shown as it
    is rather than breaking the page, and logged so it can be migrated."""
    logger.warning("Unknown rule outcome entry: %r", item)
    if isinstance(item, dict):
        return ", ".join(f"{key}: {value}" for key, value in item.items())
    return str(item)


def describe_done(item: dict, stage_labels: dict) -> str:
    if not isinstance(item, dict):
        return _plainly(item)
    if "moved" in item:
        return _("moved to “%(stage)s”") % {"stage": stage_labels.get(item["moved"], item["moved"])}
    if "tagged" in item:
        return _("tagged “%(tag)s”") % {"tag": item["tagged"]}
    if "untagged" in item:
        return _("untagged “%(tag)s”") % {"tag": item["untagged"]}
    return _plainly(item)


def describe_why(item: dict, stage_labels: dict) -> str:
    if not isinstance(item, dict) or "code" not in item:
        return _plainly(item)
    code = item["code"]
    if code == "missing":
        names = ", ".join(
            str(REQUIREMENTS[k][0]) for k in item.get("missing", []) if k in REQUIREMENTS
        )
        return _("not moved: entering this stage needs %(fields)s") % {"fields": names}
    if code == "backward_not_allowed":
        return _("not moved: rules never move a contact back")
    if code == "same_stage":
        return _("already in this stage")
    if code == "lost":
        return _("not moved: the contact is marked lost")
    return _("not moved")


def _entries(result: dict, key: str) -> list:
    entries = result.get(key) or []
    return entries if isinstance(entries, list) else [entries]


def describe(outcome: list[dict], stage_labels: dict) -> list[tuple[str, list[str], list[str]]]:
    """(rule title, what it did, why it could not) for each rule that ran."""
    if not outcome:
        return []
    lines = []
    for result in outcome if isinstance(outcome, list) else [outcome]:
        if not isinstance(result, dict):
            lines.append(("", [_plainly(result)], []))
            continue
        lines.append(
            (
                str(result.get("name", "")),
                [describe_done(item, stage_labels) for item in _entries(result, "done")],
                [describe_why(item, stage_labels) for item in _entries(result, "why")],
            )
        )
    return lines
