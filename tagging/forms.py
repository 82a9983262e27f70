from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.widgets import ColouredSelect, ColourInput, PickerSelectMultiple
from lifecycle.stages import Stage

from .models import Tag, TagGroup
from .selectors import event_kinds, tag_list

COLOUR_FIELD = {
    "regex": r"^#[0-9a-fA-F]{6}$",
    "widget": ColourInput,
    "error_messages": {"invalid": _("A colour looks like #2e90fa.")},
}


class TagGroupForm(forms.Form):
    label = forms.CharField(label=_("Group name"), max_length=60)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    colour = forms.RegexField(label=_("Colour"), initial="#667085", **COLOUR_FIELD)
    single_choice = forms.BooleanField(
        label=_("One tag at a time (e.g. intent high / medium / low)"), required=False
    )


class TagChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Tag) -> str:
        return f"{obj.group.label} · {obj.label}"


class TagMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Tag) -> str:
        return f"{obj.group.label} · {obj.label}"


class TagForm(forms.Form):
    label = forms.CharField(label=_("Tag name"), max_length=60)
    group = forms.ModelChoiceField(
        label=_("Group"), queryset=TagGroup.objects.none(), widget=ColouredSelect
    )
    # Text, with the picker only writing into it: empty means "the group's", which its swatch shows.
    colour = forms.RegexField(
        label=_("Colour"),
        required=False,
        regex=r"^#[0-9a-fA-F]{6}$",
        help_text=_("Like #2e90fa. Empty: the group's colour."),
        error_messages={"invalid": _("A colour looks like #2e90fa.")},
        widget=ColourInput(default_name=_("the group's colour")),
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = TagGroup.objects.for_tenant(tenant)
        self.fields["colour"].widget.default_from = self.add_prefix("group")


class TagMoveForm(forms.Form):
    """A tag's move up or down in its group (each button posts its own direction)."""

    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])


class AliasForm(forms.Form):
    name = forms.CharField(label=_("Alias"), max_length=60)


class MergeForm(forms.Form):
    target = TagChoiceField(label=_("Merge into"), queryset=Tag.objects.none())

    def __init__(self, *args, tenant, source: Tag, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = tag_list(tenant=tenant).exclude(pk=source.pk)


class ContactTagForm(forms.Form):
    """A tag picked from the suggestions (its id) or typed (its name or an alias)."""

    tag = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Add a tag"), max_length=60, required=False)


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=_("What happened"))
    amount = forms.DecimalField(
        label=_("Amount (¥)"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Empty: now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(event_kinds(tenant=tenant).items())

    def clean_occurred_at(self):
        when = self.cleaned_data.get("occurred_at")
        if when and when > timezone.now():
            raise forms.ValidationError(_("An event cannot be in the future."))
        return when


class EventKindForm(forms.Form):
    label = forms.CharField(label=_("New kind of event"), max_length=60)


class EventKindRenameForm(forms.Form):
    label = forms.CharField(label=_("Kind name"), max_length=60, required=False)

    def __init__(self, *args, builtin_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if builtin_name:  # empty: the built-in name again, in each reader's language
            self.fields["label"].help_text = _(
                "Left empty: its built-in name, “%(name)s”, in each reader's language."
            ) % {"name": builtin_name}
        else:
            self.fields["label"].required = True


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Rule name"), max_length=100, required=False)
    event_kind = forms.ChoiceField(label=_("When this happens"))
    to_stage = forms.ChoiceField(
        label=_("Move forward to"), required=False, choices=[("", "—"), *Stage.choices]
    )
    add_tags = TagMultipleChoiceField(
        label=_("Add tags"), queryset=Tag.objects.none(), required=False,
        widget=PickerSelectMultiple,
    )  # fmt: skip
    remove_tags = TagMultipleChoiceField(
        label=_("Remove tags"), queryset=Tag.objects.none(), required=False,
        widget=PickerSelectMultiple,
    )  # fmt: skip
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, tenant, stage_labels: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_kind"].choices = list(event_kinds(tenant=tenant).items())
        # Rules only move forward, and nobody moves forward *to* the first stage.
        self.fields["to_stage"].choices = [("", "—"), *list(stage_labels.items())[1:]]
        tags = tag_list(tenant=tenant)
        for name in ("add_tags", "remove_tags"):
            self.fields[name].queryset = tags


class BulkTagForm(forms.Form):
    tag = TagChoiceField(label=_("Tag"), queryset=Tag.objects.none())
    operation = forms.ChoiceField(choices=[("add", _("Add tag")), ("remove", _("Remove tag"))])

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = tag_list(tenant=tenant)
