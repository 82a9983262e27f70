from django.urls import path

from . import views

urlpatterns = [
    path("contacts/<int:contact_id>/tags/", views.contact_tag_add, name="contact_tag_add"),
    path(
        "contacts/<int:contact_id>/tags/<int:tag_id>/remove/",
        views.contact_tag_remove,
        name="contact_tag_remove",
    ),
    path(
        "contacts/<int:contact_id>/tags/suggest/",
        views.contact_tag_suggest,
        name="contact_tag_suggest",
    ),
    path("contacts/<int:contact_id>/events/", views.contact_event_log, name="contact_event_log"),
    path("contacts/bulk/tags/", views.contacts_bulk_tag, name="contacts_bulk_tag"),
    path("contacts/tags/undo/<int:undo_id>/", views.contact_tags_undo, name="contact_tags_undo"),
    path("settings/tags/", views.tag_settings, name="tag_settings"),
    path("settings/tags/groups/new/", views.tag_group_create, name="tag_group_create"),
    path("settings/tags/groups/<int:group_id>/", views.tag_group_edit, name="tag_group_edit"),
    path(
        "settings/tags/groups/<int:group_id>/order/",
        views.tag_group_order,
        name="tag_group_order",
    ),
    path("settings/tags/new/", views.tag_create, name="tag_create"),
    path("settings/tags/<int:tag_id>/move/", views.tag_move, name="tag_move"),
    path("settings/tags/<int:tag_id>/", views.tag_edit, name="tag_edit"),
    path("settings/tags/<int:tag_id>/aliases/", views.tag_alias_add, name="tag_alias_add"),
    path(
        "settings/tags/aliases/<int:alias_id>/remove/",
        views.tag_alias_remove,
        name="tag_alias_remove",
    ),
    path("settings/tags/<int:tag_id>/merge/", views.tag_merge, name="tag_merge"),
    path("settings/tags/<int:tag_id>/delete/", views.tag_delete, name="tag_delete"),
    path("settings/rules/", views.rule_list_view, name="rule_list"),
    path("settings/rules/new/", views.rule_edit, name="rule_create"),
    path("settings/rules/defaults/", views.rules_add_defaults, name="rules_add_defaults"),
    path("settings/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("settings/rules/kinds/", views.event_kind_create, name="event_kind_create"),
    path("settings/rules/kinds/<slug:kind>/", views.event_kind_edit, name="event_kind_edit"),
    path(
        "settings/rules/kinds/<slug:kind>/remove/",
        views.event_kind_remove,
        name="event_kind_remove",
    ),
]
