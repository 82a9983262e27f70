"""Audiences (人群) and their frozen lists. They began in `lifecycle` and kept its table names
(db_table), so moving them changed no table."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import ConsentChannel, TenantOwned


class Audience(TenantOwned):
    """Contacts past a stage gate, with a status and tag filters: "SQL and later, tagged X".
    Membership is materialised by a task and kept up to date as contacts change."""

    GATE_AT_OR_PAST = "at_or_past"
    GATE_EXACT = "exact"
    GATES = [(GATE_AT_OR_PAST, _("At or past a stage")), (GATE_EXACT, _("Exactly these stages"))]

    name = models.CharField(_("name of the audience"), max_length=100)
    gate = models.CharField(_("stage gate"), max_length=12, choices=GATES, default=GATE_AT_OR_PAST)
    stages = models.JSONField(
        _("stages"), default=list
    )  # one stage for at_or_past, a set for exact
    status = models.CharField(_("status"), max_length=8, blank=True)  # "", active or lost
    tag_any = models.JSONField(default=list, blank=True)
    tag_all = models.JSONField(default=list, blank=True)
    tag_none = models.JSONField(default=list, blank=True)
    # conditions on the company's own fields, as the contact list's filters write them
    # ({"cf_xiao_qu": "浦东", "cf_sheng_ri__min": "2015-01-01"}: crm.customfields reads them)
    custom = models.JSONField(default=dict, blank=True)
    # customers of this tier or a higher one only ("the coupon for 金卡 and up"); a tier an
    # audience is built on cannot be deleted from under it
    tier_at_least = models.ForeignKey(
        "grading.Tier", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("tier at least"),
    )  # fmt: skip
    # only contacts whose consent on this channel stands granted (crm.consent); blank: anyone
    consent_channel = models.CharField(
        _("consent required"), max_length=8, choices=ConsentChannel.choices, blank=True,
        default="",
    )  # fmt: skip
    created_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    size = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    # The snapshot the members were last computed under (lifecycle.models.TenantChanged):
    # blank until then, and after an edit of the definition.
    computed_snapshot = models.TextField(blank=True, default="", editable=False)

    class Meta:
        db_table = "lifecycle_audience"  # the table it had in lifecycle
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="audience_unique_name")
        ]
        indexes = [models.Index(fields=["tenant", "id"], name="audience_tenant_id")]  # the API

    def __str__(self) -> str:
        return self.name


class AudienceMember(TenantOwned):
    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "lifecycle_audiencemember"  # the table it had in lifecycle
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "audience", "contact"], name="audiencemember_unique"
            ),
        ]


class AudienceChange(TenantOwned):
    """A contact entering or leaving an audience (the API issue turns these into webhooks).

    An append-only log written in bulk by each recompute: its keys are not checked by the
    database (that doubled the cost of a recompute); Django still cascades deletes to it.
    """

    ENTERED, LEFT = "entered", "left"
    tenant = models.ForeignKey(
        "crm.Tenant", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="changes", db_constraint=False
    )
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    change = models.CharField(max_length=8, choices=[(ENTERED, _("Joined")), (LEFT, _("Left"))])
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "lifecycle_audiencechange"  # the table it had in lifecycle
        indexes = [models.Index(fields=["tenant", "audience", "-at"], name="audiencechange_recent")]


class AudienceSnapshot(TenantOwned):
    """An audience frozen under a name: the list a campaign was actually sent to."""

    audience = models.ForeignKey(
        Audience, on_delete=models.SET_NULL, null=True, related_name="snapshots"
    )
    name = models.CharField(_("name of the list"), max_length=100)
    # the audience's consent requirement when frozen: who withdraws since is left out of it
    consent_channel = models.CharField(
        max_length=8, choices=ConsentChannel.choices, blank=True, default=""
    )
    created_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    size = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "lifecycle_audiencesnapshot"  # the table it had in lifecycle
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audiencesnapshot_recent")]


class AudienceSnapshotMember(TenantOwned):
    snapshot = models.ForeignKey(AudienceSnapshot, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "lifecycle_audiencesnapshotmember"  # the table it had in lifecycle
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "snapshot", "contact"], name="snapshotmember_unique"
            ),
        ]
