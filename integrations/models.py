"""The API's tokens and the company's webhooks. They began in `tagging` and kept its table
names (db_table), so moving them changed no table."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned, tenant_field


class ApiToken(TenantOwned):
    """A member's key to the JSON API: the token decides the company, the member's role what it
    may do. Only a hash is kept; the token itself is shown once, when it is made."""

    membership = models.ForeignKey(
        "crm.Membership", on_delete=models.CASCADE, related_name="+", verbose_name=_("member")
    )
    name = models.CharField(_("token name"), max_length=100)
    # The start of the token, enough for people to tell their tokens apart.
    prefix = models.CharField(max_length=16, editable=False)
    # Globally unique: a request names no company, so the token is looked up before the tenant
    # is known (like Tenant.slug), the one lookup that cannot start with the tenant.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "tagging_apitoken"  # the table it had in tagging
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="apitoken_tenant_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEvent(models.TextChoices):
    CONTACT_CREATED = "contact.created", _("A contact was created")
    CONTACT_STAGE_CHANGED = "contact.stage_changed", _("A contact moved to another stage")
    CONTACT_TAGGED = "contact.tagged", _("A contact was tagged")
    AUDIENCE_ENTERED = "audience.entered", _("A contact entered an audience")
    AUDIENCE_LEFT = "audience.left", _("A contact left an audience")
    TASK_DUE = "task.due", _("A task is due")
    TASK_CREATED = "task.created", _("A task was created")
    ACTIVITY_LOGGED = "activity.logged", _("An activity was logged")
    CONTACT_TIER_CHANGED = "contact.tier_changed", _("A contact moved to another tier")
    CONTACT_MERGED = "contact.merged", _("Two contacts were merged")
    CONTACT_ERASED = "contact.erased", _("A contact was erased")


class WebhookEndpoint(TenantOwned):
    """An address of the company's own systems that hears about some kinds of changes."""

    url = models.URLField(_("address (URL)"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Signs each delivery (HMAC-SHA256); the receiver holds the same secret.
    secret = models.CharField(max_length=80, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tagging_webhookendpoint"  # the table it had in tagging
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "active"], name="webhookendpoint_active")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwned):
    """One event for one endpoint: written in the transaction of the change itself, then sent
    (and re-sent with growing pauses) by Celery until the receiver answers 2xx."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(PENDING, _("Waiting")), (DELIVERED, _("Delivered")), (FAILED, _("Gave up"))]

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    # Plain ids, not keys: the log outlives a deleted contact. ref_id is the stage change, the
    # tag or the audience the event is about.
    contact_id = models.BigIntegerField()
    ref_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # An admin's "Send again" waiting for its attempt (which it marks as theirs): one at a time.
    resend_asked_at = models.DateTimeField(null=True, blank=True)
    resend_asked_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "tagging_webhookdelivery"  # the table it had in tagging
        indexes = [
            models.Index(
                fields=["tenant", "status", "next_attempt_at"], name="webhookdelivery_due"
            ),
            models.Index(
                fields=["tenant", "endpoint", "-created_at", "-id"], name="webhookdelivery_log"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} → {self.endpoint_id}"


class WebhookAttempt(TenantOwned):
    """One sending of a delivery and what came of it, for the delivery log: a retry and a
    resend each add one. The receiver's answer is kept as its HTTP status and a reason code
    (targets.REASONS) only, never its words (see targets: they could be anyone's)."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()  # the delivery's attempts count after this one
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=40, blank=True)
    resent_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resent = models.BooleanField(default=False)  # asked for by "Send again"

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "delivery", "number"], name="webhookattempt_log"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class ApiSettings(TenantOwned):
    """The company's choices for its integrations (one row, made when an admin first saves):
    the group that tags created over the API (`create_missing`) go into. Without one, an
    unknown tag stays refused: no tag appears in a group nobody chose."""

    tenant = tenant_field(indexed=False)  # the unique constraint's index leads with it
    new_tag_group = models.ForeignKey(
        "tagging.TagGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("tags created over the API go into"),
    )  # fmt: skip
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="apisettings_one_per_tenant"),
        ]
