"""A timeline page's entries, each written once in Python as the list item it shows (as
crm/rows.py writes the contact list's rows). Done in the template, 30 entries cost ~4 ms of
branches, `{% url %}`s and blocktranslates a page; here each is one format of escaped values."""

from dataclasses import dataclass
from datetime import datetime
from html import escape

from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from crm.words import labelled
from tagging.outcomes import describe, title_from_key

from .selectors import TimelineEntry


@dataclass(frozen=True)
class Reader:
    """Who reads the timeline, and what their company calls things."""

    slug: str
    contact_id: int
    member_id: int
    csrf_token: str
    stage_labels: dict[str, str]
    kind_labels: dict[str, str]


def _time(at: datetime) -> str:
    at = localtime(at)
    return f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M")}</time>'


def _by(entry: TimelineEntry, *, gone: bool = True) -> str:
    """The member who did it; for an activity or a task someone always did, one who left."""
    if entry.actor:
        return escape(entry.actor)
    return escape(_("someone no longer here")) if gone else ""


def _activity(entry: TimelineEntry, reader: Reader) -> str:
    activity = entry.item
    outcome = f" · {escape(activity.outcome)}" if activity.outcome else ""
    text = f'<span class="activity-text">{_lines(activity.text)}</span>' if activity.text else ""
    remove = ""
    if activity.author_id == reader.member_id:
        url = escape(reverse("contact_activity_remove",
                             args=[reader.slug, reader.contact_id, activity.pk]))  # fmt: skip
        remove = (
            f'<form method="post" action="{url}" class="inline-form" hx-post="{url}" '
            f'hx-confirm="{escape(_("Remove this activity? This cannot be undone."))}" '
            'hx-target="#timeline-panel" hx-swap="outerHTML">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(reader.csrf_token)}">'
            f'<button type="submit" class="link-button small">{escape(_("Remove"))}</button></form>'
        )
    return (
        f'<li class="timeline-activity timeline-{escape(activity.kind)}">'
        f"{_time(activity.occurred_at)} "
        f"<span><strong>{escape(str(activity.get_kind_display()))}</strong>{outcome} "
        f'<span class="muted">· {_by(entry)}</span>{text}{remove}</span></li>'
    )


def _lines(text: str) -> str:
    """The text's lines as `linebreaksbr` writes them: escaped, joined by <br>."""
    return "<br>".join(escape(line) for line in text.replace("\r\n", "\n").split("\n"))


def _task(entry: TimelineEntry, reader: Reader) -> str:
    title = escape(_("Task done: %(title)s") % {"title": entry.item.title})
    return (
        f'<li class="timeline-task">{_time(entry.item.done_at)} <span>{title} '
        f'<span class="muted">· {_by(entry)}</span></span></li>'
    )


def _tag(entry: TimelineEntry, reader: Reader) -> str:
    change = entry.item
    if entry.kind == "tagged":
        what = _("Tagged “%(label)s”") % {"label": change.label}
        # a tag still held says how it came; one since taken off keeps that as added_channel
        added = getattr(change, "added_channel", "")
        channel = change.get_added_channel_display() if added else None
    else:
        what = _("Tag “%(label)s” taken off") % {"label": change.label}
        channel = None
    channel = channel or change.get_channel_display()
    who = f" {_by(entry, gone=False)} ·" if entry.actor else ""
    return (
        f'<li class="timeline-{entry.kind}">{_time(entry.at)} <span>{escape(what)} '
        f'<span class="muted">·{who} {escape(str(channel))}</span></span></li>'
    )


def _event(entry: TimelineEntry, reader: Reader) -> str:
    event = entry.item
    kind = reader.kind_labels.get(event.kind) or event.kind
    amount = f" · ¥{escape(localize(event.amount))}" if event.amount is not None else ""
    who = f" {_by(entry, gone=False)} ·" if entry.actor else ""
    note = f"<q>{escape(event.note)}</q>" if event.note else ""
    outcomes = "".join(
        f'<span class="outcome {css}">↳ {escape(labelled(name, line))}</span>'
        for name, done, why_not in describe(event.outcome, reader.stage_labels, reader.kind_labels)
        for css, lines in (("ok", done), ("skipped", why_not))
        for line in lines
    )
    return (
        f'<li class="timeline-event">{_time(event.occurred_at)} <span><strong>{escape(kind)}'
        f'</strong>{amount} <span class="muted">·{who} {escape(str(event.get_channel_display()))}'
        f"</span>{note}{outcomes}</span></li>"
    )


def _rule_title(change, reader: Reader) -> str:
    """The rule that moved the contact: a built-in one in the reader's words, else its name."""
    if change.rule_kind:
        key = {"kind": change.rule_kind, "to": change.to_stage}
        return title_from_key(key, reader.kind_labels, reader.stage_labels)
    return change.actor_label


def _stage(entry: TimelineEntry, reader: Reader) -> str:
    change = entry.item
    labels = reader.stage_labels
    names = {"from_name": labels.get(change.from_stage, change.from_stage),
             "to_name": labels.get(change.to_stage, change.to_stage)}  # fmt: skip
    if change.kind == "moved":
        if change.is_backward:
            what = _("Moved back from %(from_name)s to %(to_name)s") % names
        else:
            what = _("Moved from %(from_name)s to %(to_name)s") % names
    elif change.kind == "lost":
        what = _("Marked lost (%(reason)s)") % {"reason": change.get_lost_reason_display()}
    elif change.kind == "reopened":
        what = _("Reopened")
    else:
        what = _("Created in %(to_name)s") % names
    if entry.actor:
        who = escape(entry.actor)
    elif change.channel == "rule":
        who = escape(_("Rule: %(name)s") % {"name": _rule_title(change, reader)})
    else:
        who = escape(change.actor_label or _("someone no longer here"))
    channel = "" if change.channel == "rule" else f" · {escape(str(change.get_channel_display()))}"
    reason = (
        f"<q>{escape(change.reason)}</q>"
        if change.reason and change.reason != change.actor_label
        else ""
    )
    merged = ""
    if change.merged_from_id:
        name = change.merged_from_name or str(change.merged_from_id)
        merged = _("merged from %(name)s") % {"name": name}
        merged = f'<span class="muted">· {escape(merged)}</span>'
    return (
        f'<li class="timeline-{escape(change.kind)}">{_time(change.created_at)} <span>'
        f'{escape(what)} <span class="muted">· {who}{channel}</span>{reason}{merged}</span></li>'
    )


WRITERS = {"activity": _activity, "task": _task, "tagged": _tag, "untagged": _tag,
           "event": _event, "stage": _stage}  # fmt: skip


def timeline_items(entries: list[TimelineEntry], reader: Reader) -> SafeString:
    """The entries' <li>s, every value escaped as the template's autoescape would."""
    return SafeString("\n".join(WRITERS[entry.kind](entry, reader) for entry in entries))
