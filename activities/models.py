"""What a salesperson does with a contact: calls, meetings, WeChat chats, visits and notes."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned, tenant_field
from lifecycle.stages import Stage


class ActivityKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    WECHAT = "wechat", _("WeChat chat")
    VISIT = "visit", _("Visit")


class Activity(TenantOwned):
    """One touch with a contact, as the member who had it tells it."""

    tenant = tenant_field(indexed=False)  # the contact index leads with it
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    author = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(_("what was said or done"), max_length=5000, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(
                fields=["tenant", "contact", "-occurred_at", "-id"], name="activity_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class Task(TenantOwned):
    """Something to do for a contact by a time: "call back Friday". Done once, by someone."""

    tenant = tenant_field(indexed=False)  # the indexes lead with it
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("what to do"), max_length=200)
    due_at = models.DateTimeField(_("due"))
    # a task of a member who leaves stays, unassigned, until someone takes it
    assignee = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("for"),
    )  # fmt: skip
    created_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activity = models.ForeignKey(  # the activity it follows up, if any
        Activity, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    # it fell due and was announced: its assignee told, the company's task.due webhooks sent
    reminded_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # a member's open tasks by due time: "my tasks" and the header's overdue count
            models.Index(
                fields=["tenant", "assignee", "due_at", "id"],
                condition=models.Q(done_at__isnull=True),
                name="task_open_by_assignee",
            ),
            models.Index(fields=["tenant", "contact", "due_at"], name="task_contact"),
            models.Index(
                fields=["tenant", "contact", "-done_at", "-id"],
                condition=models.Q(done_at__isnull=False),
                name="task_done_by_contact",
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class TaskRule(TenantOwned):
    """ "When a contact reaches SQL, give its owner a task due in 24 h": a follow-up nobody has
    to remember to write."""

    STAGE_REACHED = "stage"
    AT_RISK = "at_risk"
    TRIGGERS = [(STAGE_REACHED, _("A contact reaches a stage")),
                (AT_RISK, _("A customer turns at risk"))]  # fmt: skip

    trigger = models.CharField(max_length=10, choices=TRIGGERS, default=STAGE_REACHED)
    # the stage, for a rule on reaching one ("" for one on customers turning at risk)
    stage = models.CharField(
        _("when a contact reaches"), max_length=16, choices=Stage.choices, blank=True
    )
    title = models.CharField(_("the task"), max_length=200)
    due_hours = models.PositiveIntegerField(
        _("due in (hours)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(720)]
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("task rule")
        indexes = [models.Index(fields=["tenant", "stage"], name="taskrule_stage")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_hours__gte=1, due_hours__lte=720),
                name="taskrule_due_hours_in_range",
            ),
            models.CheckConstraint(
                condition=(models.Q(trigger="stage") & ~models.Q(stage=""))
                | models.Q(trigger="at_risk", stage=""),
                name="taskrule_stage_only_on_reaching_one",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationKind(models.TextChoices):
    MENTION = "mention", _("Mentioned you")
    TASK_GIVEN = "task_given", _("Gave you a task")
    TASK_DUE = "task_due", _("Task due")


class Notification(TenantOwned):
    """Something a member should see: a mention, a task given to them, a task now due."""

    tenant = tenant_field(indexed=False)  # the member index leads with it
    member = models.ForeignKey("crm.Membership", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, null=True, related_name="+")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "member", "-created_at", "-id"], name="notification_member"
            ),  # fmt: skip
            models.Index(
                fields=["tenant", "member"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),  # fmt: skip
        ]


class AssignmentRule(TenantOwned):
    """Who a new contact without an owner goes to: "contacts tagged 地推传单 go to 赵销售", or
    "every new contact, in turn among 赵 and 孙". The company's rules are tried in `position`
    order; the first that matches and still has a member gives the owner."""

    tenant = tenant_field(indexed=False)  # the order index leads with it
    position = models.PositiveIntegerField(_("order"), default=0)
    # None: every new contact
    tag = models.ForeignKey(
        "tagging.Tag", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("contacts tagged"),
    )  # fmt: skip
    active = models.BooleanField(_("on"), default=True)
    # how many contacts the rule has given: the next one goes to its members[turns % count],
    # taken under the row's lock, so two workers never give the same turn
    turns = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("assignment rule")
        indexes = [models.Index(fields=["tenant", "position", "id"], name="assignmentrule_order")]

    def __str__(self) -> str:
        return f"#{self.position} {self.tag_id or '*'}"


class AssignmentRuleMember(TenantOwned):
    """One of the members a rule gives contacts to. A member who leaves the company (their
    membership deleted) drops out of every rotation with this row."""

    tenant = tenant_field(indexed=False)  # the unique constraint leads with it
    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="members")
    member = models.ForeignKey("crm.Membership", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "member"], name="assignmentrulemember_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.member_id}"
