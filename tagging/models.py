from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned, tenant_field
from lifecycle.stages import Channel, Stage

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour looks like #2e90fa."))


def unique_key(queryset, label: str) -> str:
    """A stable key from a label ("地推传单", "wechat-ads"), unique within `queryset`."""
    base = slugify(label, allow_unicode=True)[:50] or "tag"
    key, n = base, 1
    while queryset.filter(key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return key


def name_key(name: str) -> str:
    """How tag names and aliases are compared: spaces folded, case ignored."""
    return " ".join((name or "").split()).casefold()


class TagGroup(TenantOwned):
    """A dimension of tags: source 来源, intent 意向, industry 行业, tier 客户分级…"""

    # Stable across renames: what imports, exports and the API refer to.
    key = models.SlugField(_("key"), max_length=60, allow_unicode=True)
    label = models.CharField(_("group name"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)
    colour = models.CharField(_("colour"), max_length=7, default="#667085", validators=[COLOUR])
    single_choice = models.BooleanField(
        _("one tag at a time"),
        default=False,
        help_text=_("A contact holds at most one tag of this group, e.g. intent high/medium/low."),
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "label"], name="taggroup_unique_label"),
            models.UniqueConstraint(fields=["tenant", "key"], name="taggroup_unique_key"),
        ]

    def __str__(self) -> str:
        return self.label


class Tag(TenantOwned):
    group = models.ForeignKey(
        TagGroup, on_delete=models.PROTECT, related_name="tags", verbose_name=_("group")
    )
    key = models.SlugField(_("key"), max_length=60, allow_unicode=True)
    label = models.CharField(_("tag name"), max_length=60)
    # The label compared as aliases are, unique per tenant together with every alias.
    label_key = models.CharField(max_length=60, editable=False)
    colour = models.CharField(_("colour"), max_length=7, blank=True, validators=[COLOUR])
    description = models.CharField(_("description"), max_length=300, blank=True)
    # Its place in its group, which admins set (tiers read 普通, 银卡, 金卡, 铂金, not in the
    # order of their characters); a new tag goes last. Equal places fall back to the label.
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "label_key"], name="tag_unique_label"),
            models.UniqueConstraint(fields=["tenant", "key"], name="tag_unique_key"),
        ]
        indexes = [models.Index(fields=["tenant", "group"], name="tag_tenant_group")]

    def __str__(self) -> str:
        return self.label

    @property
    def display_colour(self) -> str:
        return self.colour or self.group.colour


class TagAlias(TenantOwned):
    """Another name for a tag ("潜客" for "潜在客户"); found by search, filters and imports."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(_("alias"), max_length=60)
    name_key = models.CharField(max_length=60, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name_key"], name="tagalias_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactTag(TenantOwned):
    """A tag on a contact, with who or what put it there and when."""

    tenant = tenant_field(indexed=False, checked=False)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="contact_tags"
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="assignments")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.UI)
    added_by = models.ForeignKey(  # not checked per row either: see StageChange.actor
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    rule = models.ForeignKey(
        "tagging.Rule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "contact", "tag"], name="contacttag_unique_tag"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "tag", "contact"], name="contacttag_by_tag")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.tag_id}"


class TagRemoval(TenantOwned):
    """A tag taken off a contact: who put it on and when, and who took it off, when, how. Kept
    so that the contact's history tells both once the assignment itself is gone."""

    tenant = tenant_field(indexed=False, checked=False)  # the contact index leads with it
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.SET_NULL, null=True, related_name="+")
    label = models.CharField(max_length=60)  # as it was named then: a deleted tag keeps its name
    added_by = models.ForeignKey(  # not checked per row either: see StageChange.actor
        "crm.Membership", on_delete=models.SET_NULL, null=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    added_channel = models.CharField(max_length=10, choices=Channel.choices)
    added_at = models.DateTimeField()
    removed_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    channel = models.CharField(max_length=10, choices=Channel.choices)
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "contact", "-removed_at", "-id"], name="tagremoval_contact"
            ),
            models.Index(fields=["tenant", "contact", "-added_at", "-id"], name="tagremoval_added"),
        ]


class EventKind(TenantOwned):
    """A kind of behaviour a tenant defines beside the built-in ones."""

    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("kind name"), max_length=60)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="eventkind_unique_key"),
        ]

    def __str__(self) -> str:
        return self.label


class Event(TenantOwned):
    """Something a contact did. Rules may move the contact or tag it; `outcome` says what."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what happened"), max_length=40)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.UI)
    # Set by forms, shops and the API so the same event arriving twice is recorded once.
    external_id = models.CharField(max_length=100, blank=True)
    outcome = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="event_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "contact", "-occurred_at"], name="event_contact"),
            models.Index(fields=["tenant", "kind", "occurred_at"], name="event_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.kind}"


class Rule(TenantOwned):
    """When an event of a kind happens: move forward to a stage and/or add and remove tags."""

    # Empty: shown as "what happens → stage" in the reader's words (tagging.outcomes.rule_title).
    name = models.CharField(_("rule name"), max_length=100, blank=True)
    event_kind = models.CharField(_("when this happens"), max_length=40)
    to_stage = models.CharField(
        _("move forward to"), max_length=16, choices=Stage.choices, blank=True
    )
    add_tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("add tags"))
    remove_tags = models.ManyToManyField(
        Tag, blank=True, related_name="+", verbose_name=_("remove tags")
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["tenant", "event_kind"], name="rule_tenant_kind")]

    def __str__(self) -> str:
        return self.name


class TaggingDefaults(TenantOwned):
    """Marks that a tenant received the default rules once, so deleting them sticks; `kinds`
    says which (tagging.events.DEFAULT_RULES), so a default added to the product later is
    offered to the company once, and one it deleted is not offered again."""

    created_at = models.DateTimeField(default=timezone.now)
    kinds = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="taggingdefaults_once")]


class TagUndoRow(TenantOwned):
    """An assignment a member's action put on a contact or took off (crm.models.Undo): what
    undoing it takes off again (`added`), or puts back as it was, under its own id, with who
    added it, how and when, and without the removal its history kept (`removal_id`)."""

    tenant = tenant_field(indexed=False, checked=False)  # read through its undo's index
    undo = models.ForeignKey("crm.Undo", on_delete=models.CASCADE, related_name="+")
    added = models.BooleanField()
    # Plain ids: what went since (a contact, a tag, a rule, a member) is found missing.
    assignment_id = models.BigIntegerField()
    contact_id = models.BigIntegerField()
    tag_id = models.BigIntegerField()
    channel = models.CharField(max_length=10, blank=True)
    added_by_id = models.BigIntegerField(null=True)
    rule_id = models.BigIntegerField(null=True)
    added_at = models.DateTimeField(null=True)
    removal_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.contact_id}: {'+' if self.added else '-'}{self.tag_id}"
