"""What a rule did for an event, stored as codes and put into words when shown, so the history
reads in the reader's language, with the company's current stage names."""

import logging
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _

from crm.words import labelled, listed
from lifecycle.selectors import stage_settings
from lifecycle.stages import requirements_said

from .selectors import event_kinds

logger = logging.getLogger(__name__)


@dataclass
class RuleOutcome:
    """What one rule did for one event: the only shape stored in `Event.outcome`.

    The rules service and the demo seeder both build outcomes here, so the stored shape and the
    one `describe` reads cannot drift apart."""

    rule_id: int
    name: str
    # A rule without a name of its own: what its title is made of (rule_title_key), so the
    # history says it in the reader's language; `name` keeps it as it read when it ran.
    title_key: dict | None = None
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
        stored = {"rule": self.rule_id, "name": self.name, "done": self.done, "why": self.why}
        if self.title_key:
            stored["title_key"] = self.title_key
        return stored


def rule_title_key(rule) -> dict | None:
    """What names a rule that has no name of its own (the built-in ones every company gets):
    its event kind and stage, put into words when shown. None: the company named it."""
    if rule.name:
        return None
    return {"kind": rule.event_kind, "to": rule.to_stage}


def title_from_key(key: dict, kind_labels: dict, stage_labels: dict) -> str:
    """ "what happens → stage" in the reader's words and the company's current labels."""
    kind, to_stage = key.get("kind", ""), key.get("to", "")
    parts = [kind_labels.get(kind, kind)]
    if to_stage:
        parts.append(stage_labels.get(to_stage, to_stage))
    return " → ".join(parts)


def rule_title(rule, kind_labels: dict, stage_labels: dict) -> str:
    """A rule's own name, or "what happens → stage" when it has none."""
    key = rule_title_key(rule)
    return rule.name if key is None else title_from_key(key, kind_labels, stage_labels)


def stored_rule_title(rule, tenant) -> str:
    """The title kept in history rows as it read then, in the company's language (rules can be
    deleted later). Pages name a rule without a name of its own by its title_key instead."""
    with translation.override(tenant.default_language):
        labels = {k: s.display_label for k, s in stage_settings(tenant=tenant).items()}
        return rule_title(rule, event_kinds(tenant=tenant), labels)


def _plainly(item) -> str:
    """An entry this code does not know (written by an older version, or by hand): shown as it
    is rather than breaking the page, and logged so it can be migrated."""
    logger.warning("Unknown rule outcome entry: %r", item)
    if isinstance(item, dict):
        return listed(labelled(key, value) for key, value in item.items())
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
        names = requirements_said(item.get("missing", []))
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


def _title(result: dict, kind_labels: dict | None, stage_labels: dict) -> str:
    key = result.get("title_key")
    if isinstance(key, dict) and kind_labels is not None:
        return title_from_key(key, kind_labels, stage_labels)
    return str(result.get("name", ""))


def describe(
    outcome: list[dict], stage_labels: dict, kind_labels: dict | None = None
) -> list[tuple[str, list[str], list[str]]]:
    """(rule title, what it did, why it could not) for each rule that ran; with `kind_labels`,
    a rule without a name of its own is named in the reader's words (else as it read then)."""
    if not outcome:
        return []
    lines = []
    for result in outcome if isinstance(outcome, list) else [outcome]:
        if not isinstance(result, dict):
            lines.append(("", [_plainly(result)], []))
            continue
        lines.append(
            (
                _title(result, kind_labels, stage_labels),
                [describe_done(item, stage_labels) for item in _entries(result, "done")],
                [describe_why(item, stage_labels) for item in _entries(result, "why")],
            )
        )
    return lines
