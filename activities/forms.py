from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.widgets import PickerSelectMultiple

from .models import ActivityKind, TaskRule

# what a call or a chat most often ends with: offered, never required
OUTCOMES = (
    _("Reached"), _("No answer"), _("Interested"), _("Not interested"), _("Call back later"),
    _("Booked a trial"), _("Sent the price list"),
)  # fmt: skip


class ActivityForm(forms.Form):
    prefix = "activity"  # the event form beside it has a kind and a time too

    kind = forms.ChoiceField(
        label=_("Kind"), choices=ActivityKind.choices, initial=ActivityKind.CALL,
        widget=forms.RadioSelect,
    )  # fmt: skip
    text = forms.CharField(
        label=_("What was said or done"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    outcome = forms.CharField(
        label=_("Outcome"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"list": "activity-outcomes", "autocomplete": "off"}),
    )  # fmt: skip
    occurred_at = forms.DateTimeField(
        label=_("When"), required=False, input_formats=["%Y-%m-%dT%H:%M"],
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip

    follow_up = forms.CharField(
        label=_("Follow up"), required=False, max_length=200,
        help_text=_("A task for you, e.g. “call back Friday”."),
    )  # fmt: skip
    follow_up_due = forms.ChoiceField(label=_("Due"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        presets = due_presets()
        self.presets = {key: when for key, _label, when in presets}
        self.fields["follow_up_due"].choices = [(k, label) for k, label, _w in presets]
        self.fields["follow_up_due"].initial = "tomorrow"

    def clean(self):
        data = super().clean()
        if not (data.get("text", "").strip() or data.get("outcome", "").strip()):
            raise forms.ValidationError(_("Write what was said or done, or its outcome."))
        data["follow_up_at"] = self.presets.get(data.get("follow_up_due") or "tomorrow")
        return data

    def follow_up_task(self) -> tuple[str, datetime] | None:
        title = self.cleaned_data.get("follow_up", "").strip()
        return (title, self.cleaned_data["follow_up_at"]) if title else None


def due_presets(now: datetime | None = None) -> list[tuple[str, str, datetime]]:
    """The times a follow-up is usually due, from now: (key, label, time)."""
    local = timezone.localtime(now or timezone.now())
    at = local.replace(minute=0, second=0, microsecond=0)
    monday = at + timedelta(days=7 - at.weekday())
    presets = []
    if local.hour < 17:
        presets.append(("today", _("Today 18:00"), at.replace(hour=18)))
    presets += [
        ("tomorrow", _("Tomorrow 10:00"), (at + timedelta(days=1)).replace(hour=10)),
        ("in3", _("In 3 days, 10:00"), (at + timedelta(days=3)).replace(hour=10)),
        ("monday", _("Next Monday 10:00"), monday.replace(hour=10)),
    ]
    return [(key, f"{label} · {when:%m-%d}", when) for key, label, when in presets]


class TaskForm(forms.Form):
    prefix = "task"

    title = forms.CharField(label=_("What to do"), max_length=200)
    due = forms.ChoiceField(label=_("Due"))
    due_at = forms.DateTimeField(
        label=_("Or at"), required=False, input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    assignee = forms.TypedChoiceField(label=_("For"), coerce=int)

    def __init__(self, *args, members: list, me: int, **kwargs):
        super().__init__(*args, **kwargs)
        presets = due_presets()
        self.presets = {key: when for key, _label, when in presets}
        self.fields["due"].choices = [(key, label) for key, label, _when in presets] + [
            ("custom", _("At the time below"))
        ]
        self.fields["due"].initial = "tomorrow"
        self.fields["assignee"].choices = [(m.pk, m.display_name) for m in members]
        self.fields["assignee"].initial = me

    def clean(self):
        data = super().clean()
        if data.get("due") == "custom":
            if not data.get("due_at"):
                self.add_error("due_at", _("Give the time it is due."))
            data["due_time"] = data.get("due_at")
        else:
            data["due_time"] = self.presets.get(data.get("due"))
        return data


class TaskRuleForm(forms.Form):
    stage = forms.ChoiceField(label=_("When a contact reaches"))
    title = forms.CharField(label=_("Give its owner the task"), max_length=200)
    due_hours = forms.IntegerField(label=_("Due in (hours)"), min_value=1, max_value=720,
                                   initial=24)  # fmt: skip

    def __init__(self, *args, stage_names: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [
            *stage_names.items(),
            (TaskRule.AT_RISK, _("— a customer turns at risk")),
        ]

    def clean(self):
        data = super().clean()
        # "at risk" is a trigger of its own, not a stage
        if data.get("stage") == TaskRule.AT_RISK:
            data["trigger"], data["stage"] = TaskRule.AT_RISK, ""
        return data


class AssignmentRuleForm(forms.Form):
    tag = forms.TypedChoiceField(
        label=_("New contacts"), coerce=int, required=False, empty_value=None,
        error_messages={"invalid_choice": _("Choose a tag of this company.")},
    )  # fmt: skip
    members = forms.TypedMultipleChoiceField(
        label=_("Go to"), coerce=int, widget=PickerSelectMultiple,
        help_text=_("Choose several to give the contacts in turn, one each."),
        error_messages={"invalid_choice": _("Choose members of this company."),
                        "required": _("Choose who gets the contacts.")},
    )  # fmt: skip

    def __init__(self, *args, tags: list[tuple[int, str]], members: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", _("Every new contact")), *tags]
        self.fields["members"].choices = [(m.pk, m.display_name) for m in members]
