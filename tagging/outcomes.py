"""What a rule did for an event, stored as codes and put into words when shown, so the history
reads in the reader's language, with the company's current stage names."""

from django.utils import translation
from django.utils.translation import gettext as _

from lifecycle.stages import REQUIREMENTS


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
    from lifecycle.selectors import stage_settings

    from .selectors import event_kinds

    with translation.override(tenant.default_language):
        labels = {k: s.display_label for k, s in stage_settings(tenant=tenant).items()}
        return rule_title(rule, event_kinds(tenant=tenant), labels)


def describe_done(item: dict, stage_labels: dict) -> str:
    if "moved" in item:
        return _("moved to “%(stage)s”") % {"stage": stage_labels.get(item["moved"], item["moved"])}
    if "tagged" in item:
        return _("tagged “%(tag)s”") % {"tag": item["tagged"]}
    return _("untagged “%(tag)s”") % {"tag": item.get("untagged", "")}


def describe_why(item: dict, stage_labels: dict) -> str:
    code = item.get("code")
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


def describe(outcome: list[dict], stage_labels: dict) -> list[tuple[str, list[str], list[str]]]:
    """(rule title, what it did, why it could not) for each rule that ran."""
    return [
        (
            result.get("name", ""),
            [describe_done(item, stage_labels) for item in result.get("done", [])],
            [describe_why(item, stage_labels) for item in result.get("why", [])],
        )
        for result in outcome
    ]
