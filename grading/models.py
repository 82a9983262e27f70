"""Grading: each customer's tier from what they paid, and their activity status from what they
did lately, both kept by a set-based recompute (services.grades_recompute)."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned, tenant_field

# The event kind that counts as money received (tagging's built-in "Paid").
PAYMENT_KIND = "payment_received"


class ActivityStatus(models.TextChoices):
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    LOYAL = "loyal", _("Loyal")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")
    DORMANT = "dormant", _("Quiet")  # nothing lately, and never paid


class GradingSettings(TenantOwned):
    """A company's thresholds. Missing: the defaults (`GradingSettings(tenant=…)` unsaved)."""

    tenant = tenant_field(indexed=False)
    # the tiers count payments over the last `window_days` days; None: over the customer's life
    window_days = models.PositiveIntegerField(
        _("count payments of the last (days)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )  # fmt: skip
    new_days = models.PositiveIntegerField(
        _("new for (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    loyal_payments = models.PositiveIntegerField(
        _("loyal from (payments)"), default=2,
        validators=[MinValueValidator(2), MaxValueValidator(100)],
    )  # fmt: skip
    at_risk_days = models.PositiveIntegerField(
        _("at risk after (days without a payment or event)"), default=60,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )  # fmt: skip
    churned_days = models.PositiveIntegerField(
        _("churned after (days)"), default=180,
        validators=[MinValueValidator(2), MaxValueValidator(3650)],
    )  # fmt: skip
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="grading_settings_one_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(churned_days__gt=models.F("at_risk_days")),
                name="grading_churned_after_at_risk",
                violation_error_message=_("“Churned after” must be longer than “at risk after”."),
            ),
        ]


class Tier(TenantOwned):
    """One grade of a company's scheme (普通/银卡/金卡/铂金, or A/B/C): reached by paying at least
    `threshold` (over the customer's life or the company's window). Tiers rank by threshold; a
    contact who paid nothing holds none."""

    tenant = tenant_field(indexed=False)
    name = models.CharField(_("name"), max_length=40)
    threshold = models.DecimalField(
        _("paid at least (¥)"), max_digits=12, decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )  # fmt: skip
    entitlements = models.CharField(_("entitlements"), max_length=300, blank=True)
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )  # fmt: skip
    included_sessions = models.PositiveIntegerField(
        _("included sessions"), default=0, validators=[MaxValueValidator(10000)]
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="tier_unique_name"),
            models.UniqueConstraint(fields=["tenant", "threshold"], name="tier_unique_threshold"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactGrade(TenantOwned):
    """A contact's tier and activity status as of the last recompute, with the figures behind
    them. Only contacts that did something (an event) or hold a tier have one: the others are
    new or never active by their age alone."""

    tenant = tenant_field(indexed=False)
    # one per contact (the unique constraint below, which leads with the company); the key's own
    # index is what PostgreSQL reads to check each deleted contact has no grade left
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey(Tier, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")  # fmt: skip
    paid = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    payments = models.PositiveIntegerField(default=0)
    last_payment_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)  # the latest event of any kind
    status = models.CharField(max_length=10, choices=ActivityStatus.choices)
    status_since = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contact"], name="grade_unique_contact"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "-status_since", "-id"], name="grade_by_status"
            ),  # fmt: skip
            models.Index(fields=["tenant", "tier"], name="grade_by_tier"),
        ]


class GradeChange(TenantOwned):
    """A contact's tier or status changed: from what, to what, and why."""

    class What(models.TextChoices):
        TIER = "tier", _("Tier")
        STATUS = "status", _("Activity status")

    tenant = tenant_field(indexed=False)
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    what = models.CharField(max_length=6, choices=What.choices)
    # a tier's name (as it was called then) or a status key; "" for none
    from_value = models.CharField(max_length=40, blank=True)
    to_value = models.CharField(max_length=40, blank=True)
    to_tier = models.ForeignKey(Tier, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")  # fmt: skip
    paid = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    window_days = models.PositiveIntegerField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "contact", "-created_at", "-id"], name="gradechange_contact"
            ),  # fmt: skip
            models.Index(fields=["tenant", "what", "-created_at"], name="gradechange_recent"),
        ]
