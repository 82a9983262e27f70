from django.urls import path

from . import views

urlpatterns = [
    path("contacts/<int:contact_id>/timeline/", views.contact_timeline, name="contact_timeline"),
    path(
        "contacts/<int:contact_id>/activities/",
        views.contact_activity_log,
        name="contact_activity_log",
    ),
    path(
        "contacts/<int:contact_id>/activities/<int:activity_id>/remove/",
        views.contact_activity_remove,
        name="contact_activity_remove",
    ),
    path("contacts/<int:contact_id>/tasks/", views.contact_task_add, name="contact_task_add"),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_mark_read"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("tasks/<int:task_id>/reopen/", views.task_reopen, name="task_reopen"),
    path("settings/task-rules/", views.task_rule_list, name="task_rule_list"),
    path(
        "settings/task-rules/<int:task_rule_id>/delete/",
        views.task_rule_delete,
        name="task_rule_delete",
    ),
    path("settings/assignment/", views.assignment_rule_list, name="assignment_rule_list"),
    path(
        "settings/assignment/<int:assignment_rule_id>/active/",
        views.assignment_rule_active,
        name="assignment_rule_active",
    ),
    path(
        "settings/assignment/<int:assignment_rule_id>/up/",
        views.assignment_rule_up,
        name="assignment_rule_up",
    ),
    path(
        "settings/assignment/<int:assignment_rule_id>/delete/",
        views.assignment_rule_delete,
        name="assignment_rule_delete",
    ),
]
