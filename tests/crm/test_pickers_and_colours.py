"""Tag, rule and member pickers, and colour fields, as the server sends them: each is a plain form
control that works without JavaScript (static/js/pickers.js only enhances it), posts what it
always posted, and is labelled; a colour field offers the colour and a few presets."""

import re

from django import forms
from django.urls import reverse

from activities.models import AssignmentRule
from crm.widgets import COLOUR_PRESETS, ColourInput, PickerSelectMultiple
from tagging.models import Rule, TagGroup
from tests.conftest import client_for


def html_of(response) -> str:
    return response.content.decode()


class Pick(forms.Form):
    tags = forms.TypedMultipleChoiceField(
        label="Tags", coerce=int, choices=[(1, "少儿英语"), (2, "成人口语")],
        widget=PickerSelectMultiple,
    )  # fmt: skip
    colour = forms.RegexField(regex=r"^#[0-9a-fA-F]{6}$", required=False, widget=ColourInput)


def test_a_picker_is_a_plain_multi_select_marked_for_the_script():
    form = Pick(data={"tags": ["1", "2"]})
    html = str(form["tags"])
    assert re.search(r'<select name="tags" [^>]*data-picker[^>]*multiple', html)
    assert '<option value="1" selected>少儿英语</option>' in html
    assert form.is_valid() and form.cleaned_data["tags"] == [1, 2]


def test_a_colour_field_is_its_text_with_a_picker_and_presets_to_click():
    html = str(Pick(initial={"colour": "#12b76a"})["colour"])
    assert re.search(
        r'<input type="text" name="colour" value="#12b76a"[^>]*class="colour-text"', html
    )
    assert '<input type="color" class="colour-swatch" aria-label="Pick a colour" hidden>' in html
    presets = re.findall(r'data-colour-value="(#[0-9a-f]{6})"', html)
    assert presets == [colour for colour, _ in COLOUR_PRESETS]
    assert '<span class="visually-hidden">Green #12b76a</span>' in html  # named, not only seen
    # the text is what is posted and checked: an empty one is allowed where the field allows it
    assert Pick(data={"tags": ["1"], "colour": ""}).is_valid()
    assert not Pick(data={"tags": ["1"], "colour": "green"}).is_valid()


def test_a_rules_tags_are_picked_from_searchable_pickers_not_ctrl_click(
    admin_client, tenant, make_tag
):
    spoken, kids = make_tag("兴趣", "成人口语"), make_tag("兴趣", "少儿英语")
    url = reverse("rule_create", args=[tenant.slug])

    html = html_of(admin_client.get(url))

    for name in ("add_tags", "remove_tags"):
        assert re.search(rf'<select name="{name}"[^>]*data-picker[^>]*id="id_{name}"', html)
        assert f'<label for="id_{name}">' in html
    assert "Ctrl-click" not in html
    admin_client.post(url, {"name": "试听后", "event_kind": "event_attended",
                            "add_tags": [spoken.pk, kids.pk], "active": "on"})  # fmt: skip
    rule = Rule.objects.for_tenant(tenant).get(name="试听后")
    assert set(rule.add_tags.all()) == {spoken, kids}


def test_an_assignment_rules_members_are_picked_the_same_way(
    admin_client, tenant, admin, sales, make_tag
):
    tag = make_tag("来源", "地推")
    url = reverse("assignment_rule_list", args=[tenant.slug])
    html = html_of(admin_client.get(url))
    assert re.search(r'<select name="members"[^>]*data-picker', html)
    admin_client.post(url, {"tag": tag.pk, "members": [admin.pk, sales.pk]})
    rule = AssignmentRule.objects.for_tenant(tenant).get()
    assert set(rule.members.values_list("member", flat=True)) == {admin.pk, sales.pk}


def test_the_audience_and_contact_list_tag_filters_are_pickers(marketer_client, tenant, make_tag):
    make_tag("兴趣", "成人口语")
    audience_form = html_of(marketer_client.get(reverse("audience_create", args=[tenant.slug])))
    contact_list = html_of(marketer_client.get(reverse("contact_list", args=[tenant.slug])))
    for html in (audience_form, contact_list):
        for name in ("tag_any", "tag_all", "tag_none"):
            assert re.search(rf'<select [^>]*name="{name}"[^>]*data-picker', html), name


def test_a_groups_colour_is_chosen_from_a_preset(marketer_client, tenant, make_tag):
    group = make_tag("兴趣", "成人口语").group
    url = reverse("tag_group_edit", args=[tenant.slug, group.pk])
    assert "data-colour-field" in html_of(marketer_client.get(url))

    marketer_client.post(url, {"label": group.label, "colour": "#12b76a"})
    assert TagGroup.objects.for_tenant(tenant).get(pk=group.pk).colour == "#12b76a"

    refused = html_of(marketer_client.post(url, {"label": group.label, "colour": "绿色"}))
    assert "A colour looks like #2e90fa." in refused


def test_a_tags_empty_colour_is_sent_as_its_groups_colour_to_show(
    marketer_client, tenant, make_tag
):
    """Empty means the group's colour: the group select's options carry their colours, and the
    colour field names that select (prefixed on the tags page) and what empty stands for."""
    tag = make_tag("兴趣", "成人口语")
    tag.group.colour = "#12b76a"
    tag.group.save(update_fields=["colour"])
    source = make_tag("来源", "地推").group
    TagGroup.objects.for_tenant(tenant).filter(pk=source.pk).update(colour="#f04438")

    html = html_of(marketer_client.get(reverse("tag_edit", args=[tenant.slug, tag.pk])))

    assert re.search(r'<option value="\d+" selected data-colour="#12b76a">兴趣</option>', html)
    assert re.search(r'<option value="\d+" data-colour="#f04438">来源</option>', html)
    assert '<span class="colour-field" data-colour-field data-colour-default-from="group">' in html
    assert (
        '<span class="colour-default muted" id="id_colour_default" hidden>the group&#x27;s colour'
        in html
    )

    tags_page = html_of(marketer_client.get(reverse("tag_settings", args=[tenant.slug])))
    assert 'data-colour-default-from="tag-group"' in tags_page


def test_the_pickers_words_come_in_the_readers_language(tenant, marketer):
    marketer.user.language = "zh-hans"
    marketer.user.save(update_fields=["language"])
    html = html_of(client_for(marketer).get(reverse("contact_list", args=[tenant.slug])))
    assert '"search": "输入以搜索"' in html
    assert '"remove": "移除{name}"' in html
