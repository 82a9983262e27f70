"""Form widgets our static JS enhances; each one works as a plain form control without it.

- PickerSelectMultiple: a <select multiple data-picker>; static/js/pickers.js turns it into a
  searchable picker (type to filter, arrows, Enter or Space to pick, the chosen ones as chips).
  The select stays in the form, so what is posted and how the server checks it do not change.
- ColourInput: the colour as text (#2e90fa: what is posted and validated), with the browser's
  colour picker beside it and a few presets to click, shown once static/js/pickers.js runs. Where
  empty means another's colour (a tag's: its group's), `default_from` names the form's select
  whose chosen option carries that colour (ColouredSelect): the swatch shows it, and says so.
- ColouredSelect: a select of things that have a colour (tag groups), each option carrying it.
"""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# A few colours to click (the stages' own defaults among them), named for whoever cannot see
# them; the colour itself is painted from data-tag-colour (static/js/app.js: the CSP refuses
# style= attributes).
COLOUR_PRESETS = (
    ("#667085", gettext_lazy("Grey")),
    ("#98a2b3", gettext_lazy("Light grey")),
    ("#53b1fd", gettext_lazy("Light blue")),
    ("#2e90fa", gettext_lazy("Blue")),
    ("#7a5af8", gettext_lazy("Purple")),
    ("#ee46bc", gettext_lazy("Pink")),
    ("#f04438", gettext_lazy("Red")),
    ("#f79009", gettext_lazy("Orange")),
    ("#12b76a", gettext_lazy("Green")),
)


class PickerSelectMultiple(forms.SelectMultiple):
    """A multi-select that becomes a searchable, keyboard-driven picker in the browser."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"data-picker": "", **(attrs or {})}, choices)


class ColouredSelect(forms.Select):
    """A model select whose options carry their object's colour as data-colour."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        colour = getattr(getattr(value, "instance", None), "colour", "")
        if colour:
            option["attrs"]["data-colour"] = colour
        return option


class ColourInput(forms.TextInput):
    def __init__(self, attrs=None, *, default_from: str = "", default_name: str = ""):
        """`default_from`: the (prefixed) name of the form's ColouredSelect whose chosen colour
        an empty value stands for; `default_name`: what that colour is called ("the group's")."""
        defaults = {"class": "colour-text", "size": 8, "maxlength": 7, "placeholder": "#2e90fa",
                    "autocomplete": "off", "spellcheck": "false"}  # fmt: skip
        super().__init__({**defaults, **(attrs or {})})
        self.default_from = default_from
        self.default_name = default_name

    def render(self, name, value, attrs=None, renderer=None):
        text = super().render(name, value, attrs, renderer)
        presets = format_html_join(
            "",
            '<button type="button" class="colour-preset" data-tag-colour="{0}" '
            'data-colour-value="{0}" aria-pressed="false" title="{1} {0}">'
            '<span class="visually-hidden">{1} {0}</span></button>',
            ((colour, name) for colour, name in COLOUR_PRESETS),
        )
        # An empty value standing for another's colour: the swatch shows that one, named beside it.
        default, default_note = "", ""
        if self.default_from:
            note_id = f"{(attrs or {}).get('id') or name}_default"
            default = format_html(' data-colour-default-from="{}"', self.default_from)
            default_note = format_html(
                '<span class="colour-default muted" id="{}" hidden>{}</span>',
                note_id,
                self.default_name,
            )
        # The picker and the presets are shown by the script that makes them work.
        return format_html(
            '<span class="colour-field" data-colour-field{default}>{text}'
            '<input type="color" class="colour-swatch" aria-label="{pick}" hidden>{default_note}'
            '<span class="colour-presets" role="group" aria-label="{label}" hidden>{presets}'
            "</span></span>",
            default=default,
            text=text,
            pick=_("Pick a colour"),
            default_note=default_note,
            label=_("Preset colours"),
            presets=presets,
        )
