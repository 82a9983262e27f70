from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned, tenant_field

from .stages import (
    DEFAULT_COLOURS,
    DEFAULT_CRITERIA,
    RANK,
    ChangeKind,
    Channel,
    LostReason,
    Stage,
    Status,
)

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour looks like #2e90fa."))


class StageSetting(TenantOwned):
    """A tenant's own words for a stage: label, entry criteria, colour, what entry requires."""

    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    label = models.CharField(_("label"), max_length=40, blank=True)
    entry_criteria = models.TextField(_("entry criteria"), blank=True)
    colour = models.CharField(_("colour"), max_length=7, blank=True, validators=[COLOUR])
    requirements = models.JSONField(_("required to enter"), default=list, blank=True)

    class Meta:
        verbose_name = _("stage setting")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "stage"], name="stagesetting_unique_stage"),
            models.UniqueConstraint(
                fields=["tenant", "label"], condition=~Q(label=""), name="stagesetting_unique_label"
            ),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        return self.label or str(Stage(self.stage).label)

    @property
    def standard_criteria(self) -> str:
        return str(DEFAULT_CRITERIA[self.stage])

    @property
    def display_criteria(self) -> str:
        return self.entry_criteria or self.standard_criteria

    @property
    def display_colour(self) -> str:
        return self.colour or DEFAULT_COLOURS[self.stage]


class StageAlias(TenantOwned):
    """Another name a stage is known by ("潜客" once the label became "02-潜在客户"): a label it
    had before, or one an admin added. Only ever matched (imports, filters, search, the API),
    never shown in place of the label."""

    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    name = models.CharField(_("alias"), max_length=40)
    # The name compared as labels are (lifecycle.selectors.stage_name_key), unique per tenant.
    name_key = models.CharField(max_length=40, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("stage alias")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name_key"], name="stagealias_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class StageChange(TenantOwned):
    """One row per move, lost or reopen: who, when, from, to, through which channel, why."""

    tenant = tenant_field(indexed=False, checked=False)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="stage_changes"
    )
    kind = models.CharField(max_length=10, choices=ChangeKind.choices, default=ChangeKind.MOVED)
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    from_status = models.CharField(max_length=8, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=8, choices=Status.choices)
    # Django sets it to NULL when the member is removed; the database does not check each row
    # of a bulk write against memberships (see tenant_field).
    actor = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    # Who acted when it was not a member, or a member since removed: "规则: 付款 → 付费客户".
    actor_label = models.CharField(max_length=200, blank=True)
    # A rule without a name of its own that made the move (the built-in ones): its event kind.
    # Its title, "what happens → to_stage", is then said in the reader's words, not actor_label's.
    rule_kind = models.CharField(max_length=40, blank=True, default="", db_default="")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    lost_reason = models.CharField(max_length=16, choices=LostReason.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=False)
    # Set on the rows of a contact merged into this one (a plain id: that contact is gone).
    # They stay on its timeline but are not its own chain (stage_version counts the rest) and
    # analytics skip them: the person's progress is counted once, by the contact that stays.
    # Database defaults too: the bulk moves and imports insert rows with SQL of their own.
    merged_from_id = models.BigIntegerField(null=True, blank=True)
    merged_from_name = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("stage change")
        indexes = [
            models.Index(fields=["tenant", "contact", "-created_at"], name="stagechange_contact"),
            models.Index(fields=["tenant", "to_stage", "created_at"], name="stagechange_entered"),
            # The moves members made in a period (the team's figures): imports' "created" rows
            # and rules' moves, most of the history, are not in it.
            models.Index(
                fields=["tenant", "created_at", "actor"],
                condition=Q(kind="moved", actor__isnull=False),
                name="stagechange_member_moves",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage} → {self.to_stage}"

    @property
    def is_backward(self) -> bool:
        return bool(self.from_stage) and RANK[self.to_stage] < RANK[self.from_stage]


class FunnelCount(TenantOwned):
    """Stored counts per stage and status, recomputed from the contacts by a task."""

    stage = models.CharField(max_length=16, choices=Stage.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    count = models.PositiveIntegerField(default=0)
    # The sum of their expected amounts (the board's value per column); contacts without one
    # add nothing.
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stage", "status"], name="funnelcount_unique_stage_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage}/{self.status}: {self.count}"


class FunnelSnapshot(TenantOwned):
    """The funnel as it stood at the end of a day, for trend charts (beat writes one a day)."""

    day = models.DateField()
    stage = models.CharField(max_length=16, choices=Stage.choices)
    active = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "stage"], name="funnelsnapshot_unique_day_stage"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.stage}: {self.active}"


class FunnelStats(TenantOwned):
    """Conversion, time in stage and losses, computed from the history by a task."""

    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)
    # Whether StageSpan and ReachCount hold every contact; until then a recompute builds them.
    figures_kept = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="funnelstats_one_per_tenant")
        ]

    def __str__(self) -> str:
        return f"stats of {self.tenant_id}"


class HistoryChanged(TenantOwned):
    """A contact whose history changed since the statistics last read it: written by the
    database itself (a trigger on lifecycle_stagechange, migration 0009), whatever wrote the
    history — a move, a bulk move, an import, a merge, an undo, a deletion — so the time in
    stage is brought up to date for those contacts only. The recompute takes its rows."""

    tenant = tenant_field(indexed=False, checked=False)
    contact_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "contact_id"], name="historychanged_contact")]

    def __str__(self) -> str:
        return f"history of {self.contact_id} changed"


class StageSpan(TenantOwned):
    """How long a contact stayed in a stage it has since left: one row per span of its own
    chain, kept by lifecycle.analytics for the time in stage. `bucket` groups the lengths on a
    log scale (StageSpanCount counts them), so a percentile is found without a sort."""

    tenant = tenant_field(indexed=False, checked=False)
    # A plain id: a deleted contact's spans go when its history does (HistoryChanged).
    contact_id = models.BigIntegerField()
    stage = models.CharField(max_length=16, choices=Stage.choices)
    seconds = models.FloatField()
    bucket = models.SmallIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "contact_id"], name="stagespan_contact"),
            models.Index(fields=["tenant", "stage", "bucket", "seconds"], name="stagespan_order"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.stage}: {self.seconds:.0f} s"


class StageSpanCount(TenantOwned):
    """How many spans of a stage fall in each bucket: the histogram the percentiles walk."""

    stage = models.CharField(max_length=16, choices=Stage.choices)
    bucket = models.SmallIntegerField()
    # Not a PositiveIntegerField: a recompute adds a bucket's difference in one upsert, whose
    # row to insert is checked before it meets the row it updates (lifecycle.analytics).
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stage", "bucket"], name="stagespancount_unique_bucket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage} bucket {self.bucket}: {self.count}"


class TenantChanged(TenantOwned):
    """A transaction that changed a company's contacts, stages or tags (lifecycle.scheduling's
    tenant_changed writes one, inside it), by its transaction id. A recompute keeps the snapshot
    it read under (which transactions it saw); when every row here is one that snapshot saw,
    nothing changed since and the recompute has nothing to do. Rows every reader has seen are
    forgotten (scheduling.seen_changes_forget)."""

    tenant = tenant_field(indexed=False, checked=False)
    xid = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "xid"], name="tenantchanged_once_per_xact")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} changed in transaction {self.xid}"


class ReachCount(TenantOwned):
    """How many of a company's contacts have each furthest stage, status, stage and lost
    reason: what conversion and losses are computed from. Kept by lifecycle.analytics from the
    differences the database writes to ReachChange, so a recompute never counts the company."""

    furthest_stage = models.CharField(max_length=16, choices=Stage.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    lost_reason = models.CharField(max_length=16, choices=LostReason.choices, blank=True)
    # Not a PositiveIntegerField: see StageSpanCount.count.
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "furthest_stage", "status", "stage", "lost_reason"],
                name="reachcount_unique_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.furthest_stage}/{self.status}/{self.stage}: {self.count}"


class ReachChange(TenantOwned):
    """A difference to ReachCount: written by the database itself (a trigger on crm_contact,
    migration 0010) with every statement that adds, deletes or changes the funnel fields of a
    company's contacts, whatever code ran it. The statistics' recompute takes the rows."""

    tenant = tenant_field(indexed=False, checked=False)
    furthest_stage = models.CharField(max_length=16)
    status = models.CharField(max_length=8)
    stage = models.CharField(max_length=16)
    lost_reason = models.CharField(max_length=16)
    difference = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant"], name="reachchange_tenant")]

    def __str__(self) -> str:
        return f"{self.furthest_stage}/{self.status}/{self.stage}: {self.difference:+d}"


class MoveUndoRow(TenantOwned):
    """A contact a member's bulk move moved, as it was before (crm.models.Undo): what undoing
    the move puts back, if the contact is still as the move left it (`version`)."""

    tenant = tenant_field(indexed=False, checked=False)  # read through its undo's index
    undo = models.ForeignKey("crm.Undo", on_delete=models.CASCADE, related_name="+")
    # a plain id: a contact deleted since is found missing, and the undo refused
    contact_id = models.BigIntegerField()
    from_stage = models.CharField(max_length=16)
    from_furthest_stage = models.CharField(max_length=16)
    from_entered_at = models.DateTimeField()
    version = models.PositiveIntegerField()  # its stage_version once moved

    def __str__(self) -> str:
        return f"{self.contact_id} was in {self.from_stage}"
