from django.urls import path

from . import move_views, views

urlpatterns = [
    path("board/", views.board, name="board"),
    path("funnel/", views.funnel_panel, name="funnel_panel"),
    path("board/<slug:stage>/", views.board_column, name="board_column"),
    path("contacts/<int:contact_id>/move/", move_views.contact_move, name="contact_move"),
    path("contacts/<int:contact_id>/lost/", move_views.contact_lost, name="contact_lost"),
    path("contacts/<int:contact_id>/reopen/", move_views.contact_reopen, name="contact_reopen"),
    path("contacts/bulk/", views.bulk_action, name="contacts_bulk"),
    path("contacts/bulk/count/", views.bulk_count, name="contacts_bulk_count"),
    path("contacts/bulk/undo/<int:undo_id>/", views.bulk_undo, name="contacts_bulk_undo"),
    path("settings/stages/", views.stage_settings_edit, name="stage_settings"),
    path("settings/stages/<slug:stage>/aliases/", views.stage_alias_add, name="stage_alias_add"),
    path(
        "settings/stages/aliases/<int:alias_id>/remove/",
        views.stage_alias_remove,
        name="stage_alias_remove",
    ),
]
