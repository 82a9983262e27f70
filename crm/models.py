"""Tenancy and contacts: the core every other app builds on."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lifecycle.fsm import FunnelFields

from .permissions import Role  # stated with the role matrix; imported from here too
from .sortkeys import KEY_LENGTH, name_sort_key

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]


class User(AbstractUser):
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=LANGUAGE_CHOICES,
        blank=True,
        help_text=_("Empty: follow the browser."),
    )
    # A first password typed by a company admin is known to them: its owner replaces it first.
    must_change_password = models.BooleanField(default=False)

    @property
    def display_name(self) -> str:
        return person_name(self.first_name, self.last_name, self.username)


def person_name(first: str, last: str, username: str) -> str:
    """How a person is shown: their name as their language writes it, else their username."""
    first, last = first.strip(), last.strip()
    if not (first or last):
        return username
    if not (first + last).isascii():
        return f"{last}{first}"  # 王 + 校长: Chinese names put the family name first
    return f"{first} {last}".strip()


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


class Tenant(models.Model):
    slug = models.SlugField(
        _("short name"),
        max_length=50,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")],
        help_text=_("Lower-case letters, digits and hyphens; it appears in every address."),
    )
    name = models.CharField(_("company name"), max_length=200)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    default_language = models.CharField(
        _("default language"), max_length=10, choices=LANGUAGE_CHOICES, default="zh-hans"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Set when the company's deletion starts (crm/deletion.py): from then on nobody signs in to
    # it and its API tokens answer 401, while its rows are removed.
    deletion_started_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zoneinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> "TenantQuerySet":
        if tenant is None or tenant.pk is None:
            raise ValueError("A tenant-owned query needs a saved tenant.")
        return self.filter(tenant=tenant)


def tenant_field(*, indexed: bool = True, checked: bool = True) -> models.ForeignKey:
    """The tenant FK of a tenant-owned model. `indexed=False` for the big tables whose every
    index already leads with tenant: the FK's own index would only slow each write down.
    `checked=False` for rows that copy their contact's tenant (history, tag assignments): the
    contact's own key is checked, and a second check per row is a third of a bulk write's
    commit (measured on a 100,000-row import)."""
    return models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=indexed,
        db_constraint=checked,
    )  # fmt: skip


class TenantOwned(models.Model):
    """Every tenant-owned row carries its tenant; every query on it starts with `for_tenant`."""

    tenant = tenant_field()

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(TenantOwned):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.display_name


# A contact's own text fields, in the order people read them: stated once, for the contact
# form, the API, imports (the columns they map and fill), merges and contact_update. The
# funnel's fields are lifecycle's; owner and expected amount are not text.
CONTACT_FIELDS = ("name", "email", "phone", "wechat_id", "weibo", "company", "source", "notes")


class Contact(FunnelFields, TenantOwned):
    tenant = tenant_field(indexed=False)
    name = models.CharField(_("name"), max_length=200)
    # What the name sorts by (its pinyin: crm/sortkeys.py), kept with it by save() and by every
    # set-based write of names; compared byte by byte, as the key is built to be.
    name_sort = models.CharField(max_length=KEY_LENGTH, editable=False, db_collation="C")
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # The phone written backwards, kept by PostgreSQL: a search by its last digits ("尾号 9371")
    # seeks it as a prefix. A column, not an index on reverse(phone): reverse() is not
    # leakproof, so under row-level security no index on it could be sought.
    phone_tail = models.GeneratedField(
        expression=Reverse("phone"), output_field=models.CharField(max_length=20), db_persist=True
    )
    wechat_id = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    weibo = models.CharField(_("Weibo"), max_length=64, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    owner = models.ForeignKey(
        Membership,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_contacts",
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    expected_amount = models.DecimalField(
        _("expected amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    # The company's own fields ({key: value}, crm/customfields.py says each kind's JSON form):
    # read with the row for the page, the list, exports and the API; filters read
    # ContactCustomValue, which PostgreSQL keeps from this column.
    # db_default: rows written by column list (imports' COPY) start with no values, not NULL
    custom = models.JSONField(_("custom fields"), default=dict, db_default={}, blank=True)
    # A default, not auto_now_add, so imports and demo data can carry the real first-seen time.
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Erased at the person's request (personaldata): the personal fields are gone for good, the
    # name is a placeholder, and the funnel history stays, anonymous. Never set back.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"], condition=~Q(email=""), name="contact_unique_email"
            ),
            models.UniqueConstraint(
                fields=["tenant", "phone"], condition=~Q(phone=""), name="contact_unique_phone"
            ),
            models.UniqueConstraint(
                fields=["tenant", "wechat_id"],
                condition=~Q(wechat_id=""),
                name="contact_unique_wechat",
            ),
            # a writer of names that forgets the key fails here, not in the list's order
            models.CheckConstraint(
                condition=Q(name="") | ~Q(name_sort=""), name="contact_name_sort_kept"
            ),
        ]
        indexes = [
            # Keyset pagination for each sort the list offers (the API's by id), and prefix search.
            models.Index(fields=["tenant", "id"], name="contact_tenant_id"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="contact_tenant_created"),
            models.Index(fields=["tenant", "-updated_at", "-id"], name="contact_tenant_updated"),
            models.Index(fields=["tenant", "name_sort", "id"], name="contact_tenant_name_sort"),
            models.Index(
                fields=["tenant", "name"],
                name="contact_tenant_name_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["tenant", "email"],
                name="contact_tenant_email_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["tenant", "phone"],
                name="contact_tenant_phone_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["tenant", "wechat_id"],
                name="contact_tenant_wechat_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            # "尾号 9371": the phone's last digits, as the start of the number written backwards
            models.Index(
                fields=["tenant", "phone_tail"],
                name="contact_tenant_tail_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            # A member's contacts; with the funnel fields, the team's figures (contacts by
            # owner and stage) are read from the index alone.
            models.Index(
                fields=["tenant", "owner", "status", "stage", "furthest_stage"],
                name="contact_tenant_owner_stage",
            ),
            # The board's value per column: the sum of the expected amounts the stored counts
            # keep, read from the few contacts that have one.
            models.Index(
                fields=["tenant", "status", "stage"],
                include=["expected_amount"],
                condition=Q(expected_amount__isnull=False),
                name="contact_tenant_amount",
            ),
            # The board's columns and "in this stage since" sorting.
            models.Index(
                fields=["tenant", "status", "stage", "-stage_entered_at", "-id"],
                name="contact_tenant_board",
            ),
            models.Index(
                fields=["tenant", "-stage_entered_at", "-id"], name="contact_tenant_stage_since"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_sort = name_sort_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_sort"}
        super().save(*args, **kwargs)


class ContactText(TenantOwned):
    """What contains-search reads of a contact: its name, company, email, WeChat ID and notes,
    folded (NFKC, lower case) into one text, kept by PostgreSQL's triggers on crm_contact (the
    contact_text_search migration) whenever those change; the app never writes it. A table of
    its own, so a stage move or an owner change, which rewrite the contact's row, never touch
    its index."""

    tenant = tenant_field(indexed=False, checked=False)  # the contact's, copied by the trigger
    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    body = models.TextField()

    class Meta:
        indexes = [
            # The text's pairs of characters around any that is not ASCII, and its runs of three
            # ASCII ones, each key led by the company ("7:小雨", "7:qq."): what 小雨, 9371 or
            # qq.com needs, seeks only that company's keys. A small pending list: every search
            # reads it all.
            GinIndex(
                Func(F("tenant"), F("body"), function="crm_text_grams",
                     output_field=ArrayField(models.TextField())),
                name="contacttext_grams",
                gin_pending_list_limit=1024,
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.body


class CustomField(TenantOwned):
    """A field a company adds to its contacts (生日, 校区, 课程顾问…). The key names the value in
    `Contact.custom`, the filters' parameters, imports, exports and the API; it is made once
    from the first label and never changes, so renaming a field keeps every value."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        NUMBER = "number", _("Number")
        MONEY = "money", _("Money")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Single choice")
        MULTI_CHOICE = "multi_choice", _("Multiple choice")
        MEMBER = "member", _("Member")
        URL = "url", _("Link (URL)")

    key = models.CharField(
        _("key"), max_length=40,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$",
                                   _("Lower-case letters, digits and _, starting with a letter."))],
    )  # fmt: skip
    label = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    required = models.BooleanField(_("required"), default=False)
    # the options of a single or multiple choice, in the order they are offered
    options = models.JSONField(_("options"), default=list, blank=True)
    help_text = models.CharField(_("hint"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="customfield_unique_key"),
            models.UniqueConstraint(fields=["tenant", "label"], name="customfield_unique_label"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_choice(self) -> bool:
        return self.kind in (self.Kind.CHOICE, self.Kind.MULTI_CHOICE)


class ContactCustomValue(TenantOwned):
    """What the filters read of `Contact.custom`: one row per value (one per option of a
    multiple choice), typed, kept by PostgreSQL's triggers on crm_contact (the custom_fields
    migration); the app never writes it but to drop a deleted field's rows. A table of its own,
    not indexes on the JSON: under row-level security PostgreSQL may seek an index only with
    leakproof operators, which text, float8 and date comparisons are and jsonb's are not."""

    tenant = tenant_field(indexed=False, checked=False)  # the contact's, copied by the trigger
    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    field = models.ForeignKey(
        CustomField, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    # text, URL, choice, option of a multiple choice, member id (as text); NULL for long text
    value_text = models.CharField(max_length=200, null=True)  # noqa: DJ001 (no text: NULL)
    value_number = models.FloatField(null=True)  # number and money
    value_date = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "field", "value_text", "contact"],
                         name="customvalue_text"),
            models.Index(fields=["tenant", "field", "value_number", "contact"],
                         name="customvalue_number",
                         condition=Q(value_number__isnull=False)),
            models.Index(fields=["tenant", "field", "value_date", "contact"],
                         name="customvalue_date", condition=Q(value_date__isnull=False)),
            # the trigger replaces a contact's rows when its values change
            models.Index(fields=["tenant", "contact"], name="customvalue_contact"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.contact_id}.{self.field_id}"


class Invitation(TenantOwned):
    """A company asks a user to join it with a role. Nothing is reachable until they accept."""

    PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, default=PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user"],
                condition=Q(status="pending"),
                name="invitation_one_pending_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.tenant} ({self.role}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.PENDING and self.expires_at > timezone.now()


class OneTimeLink(models.Model):
    """A link that lets its holder set a user's password once: for an invited new user, or
    issued by an admin for a member. Only the token's SHA-256 is stored; it is shown once."""

    INVITATION, PASSWORD = "invitation", "password"

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="one_time_links"
    )
    purpose = models.CharField(max_length=12)
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, null=True, blank=True)
    # An invitation's link chooses the password only of the account that invitation created:
    # another company's invitation to the same name must not be a way into that account.
    sets_password = models.BooleanField(default=False)
    # The company whose admin issued it (a user's own links name none).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The admin who issued a password link: it works only while they administer every
    # company of the user.
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} link for {self.user}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class AuditKind(models.TextChoices):
    MEMBER_ADDED = "member_added", _("Member added")
    MEMBER_INVITED = "member_invited", _("Member invited")
    INVITATION_ACCEPTED = "invitation_accepted", _("Invitation accepted")
    INVITATION_DECLINED = "invitation_declined", _("Invitation declined")
    INVITATION_WITHDRAWN = "invitation_withdrawn", _("Invitation withdrawn")
    MEMBER_ROLE_CHANGED = "member_role_changed", _("Role changed")
    MEMBER_REMOVED = "member_removed", _("Member removed")
    PASSWORD_LINK_ISSUED = "password_link_issued", _("Password link issued")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOGIN_LOCKED_OUT = "login_locked_out", _("Login paused")
    STAGE_SETTINGS_CHANGED = "stage_settings_changed", _("Stage names and requirements changed")
    CUSTOM_FIELD_ADDED = "custom_field_added", _("Custom field added")
    CUSTOM_FIELD_CHANGED = "custom_field_changed", _("Custom field changed")
    CUSTOM_FIELD_DELETED = "custom_field_deleted", _("Custom field deleted")
    RULE_SAVED = "rule_saved", _("Rule saved")
    RULE_DELETED = "rule_deleted", _("Rule deleted")
    IMPORT_RUN = "import_run", _("Import")
    IMPORT_UNDONE = "import_undone", _("Import undone")
    EXPORT = "export", _("Export")
    BULK_MOVE = "bulk_move", _("Bulk move")
    BULK_TAG = "bulk_tag", _("Bulk tag")
    BULK_ASSIGN = "bulk_assign", _("Owner assigned")
    WORK_HANDED_OVER = "work_handed_over", _("Contacts and tasks handed over")
    CONTACTS_MERGED = "contacts_merged", _("Contacts merged")
    CONTACT_DELETED = "contact_deleted", _("Contact deleted")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    WEBHOOK_CHANGED = "webhook_changed", _("Webhook changed")
    UNDONE = "undone", _("Action undone")
    CONSENT_GRANTED = "consent_granted", _("Consent granted")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    # a person's own data (personaldata): what was read or removed, named by the contact's id
    CONTACT_DATA_EXPORTED = "contact_data_exported", _("Personal data exported")
    CONTACT_ERASED = "contact_erased", _("Contact erased")


class AuditQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditEntry(TenantOwned):
    """Who did what, when, from which address: written with the change, never edited or
    deleted by the app (the queryset and the model refuse; PostgreSQL's trigger too)."""

    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32, choices=AuditKind.choices)
    actor = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who it was, as they were named then (a member can leave; a failed login has no member).
    actor_label = models.CharField(max_length=150, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    # What, in a few words that are data, not sentences (shown in the reader's language).
    subject = models.CharField(max_length=300, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-at", "-id"], name="audit_tenant_at"),
            models.Index(fields=["tenant", "kind", "-at", "-id"], name="audit_tenant_kind_at"),
            models.Index(fields=["tenant", "actor", "-at", "-id"], name="audit_tenant_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.subject}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class Undo(TenantOwned):
    """A member's last destructive action on a page (a tag taken off a contact, a bulk tag, a
    bulk move), which they may undo exactly for a short while (crm/undo.py). What it changed is
    kept beside it, row by row, by the app that made the change (lifecycle.MoveUndoRow,
    tagging.TagUndoRow) until it is undone, replaced by the member's next one, or expired."""

    actor = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # crm.undo's TAG_REMOVE, BULK_TAG, BULK_MOVE
    # the action's own codes, for the words of the offer and the audit log (tag, add, to_stage)
    details = models.JSONField(default=dict, blank=True)
    count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "expires_at"], name="undo_expiry")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_id} until {self.expires_at:%H:%M:%S}"


class ContactMerge(TenantOwned):
    """The audit of two contacts merged by hand: who, when, and what the merged one held."""

    survivor = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="+", verbose_name=_("kept contact")
    )
    merged_name = models.CharField(max_length=200)
    merged_data = models.JSONField(default=dict)
    actor = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tagging_contactmerge"  # the table it had in tagging
        indexes = [models.Index(fields=["tenant", "survivor"], name="contactmerge_survivor")]

    def __str__(self) -> str:
        return f"{self.merged_name} → {self.survivor_id}"


# --- saved views (issue 18, item 2) -----------------------------------------------------------


class SavedView(TenantOwned):
    """A contact list's filters, sort and columns kept under a name: the list's own query
    parameters ({name: [value, …]}, as crm/savedviews.py normalises them), never HTML. Private
    to its owner, or shared with the company. A shared view outlives its owner (SET_NULL);
    a private one goes with them (crm.tenancy.membership_remove)."""

    owner = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("owner"),
    )  # fmt: skip
    name = models.CharField(_("name of the view"), max_length=80)
    params = models.JSONField(_("filters"), default=dict, blank=True)
    shared = models.BooleanField(_("shared with the company"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            # each owner names their views apart; shared views apart from each other too
            # (crm.savedviews checks both, these hold them under concurrency)
            models.UniqueConstraint(
                fields=["tenant", "owner", "name"], name="savedview_unique_name"
            ),
            models.UniqueConstraint(
                fields=["tenant", "name"], condition=Q(shared=True),
                name="savedview_unique_shared_name",
            ),
        ]  # fmt: skip
        indexes = [
            # the side list: the company's shared views beside the member's own
            models.Index(fields=["tenant", "shared", "name"], name="savedview_tenant_shared"),
        ]

    def __str__(self) -> str:
        return self.name


class SavedViewDefault(TenantOwned):
    """The view a member's contact list opens with when it is given no parameters: one per
    member (the constraint), any view they can see (their own or a shared one)."""

    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "member"], name="savedviewdefault_one"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.view_id}"


# --- consent (issue 19, item 3): crm/consent.py writes and reads it -------------------------


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone calls")
    WECHAT = "wechat", _("WeChat")


class ConsentSource(models.TextChoices):
    HAND = "hand", _("By hand")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    MERGE = "merge", _("Merge")


class Consent(TenantOwned):
    """One grant or withdrawal of a contact's consent to be contacted on a channel, kept as
    history and never edited: the contact's state on a channel is its latest row (the highest
    id), "unknown" while it has none. Audiences requiring a channel read it (crm.consent)."""

    tenant = tenant_field(indexed=False)  # every index leads with it
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # who it was, as they were named then (a member can leave; a token acts as its member)
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # the import that wrote it (spreadsheets' ImportJob id): undoing the import takes it back
    import_job_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [
            # a contact's latest row per channel, and its history
            models.Index(fields=["tenant", "contact", "channel", "-id"], name="consent_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.channel} {'+' if self.granted else '-'}"


# --- Company deletion (crm/deletion.py) ---------------------------------------------------------


class CompanyDeletion(models.Model):
    """The platform's record of a company's deletion: its progress while it runs (rows removed
    per table, so a killed run resumes where it stopped) and, once done, the proof that it
    happened. Not tenant-owned: it names the company by value and outlives it."""

    company_id = models.BigIntegerField()
    company_slug = models.CharField(max_length=50)
    company_name = models.CharField(max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    # who asked, as named then (their account may go with the company)
    requested_by_label = models.CharField(max_length=150)
    source = models.CharField(max_length=16)  # "command" or "settings"
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # table -> rows removed; "files" -> stored files removed
    counts = models.JSONField(default=dict)
    # the people who were members when it started: those left with no company lose their account
    member_user_ids = models.JSONField(default=list)
    users_deleted = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company_id"], condition=Q(finished_at__isnull=True),
                name="companydeletion_one_running",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"deletion of {self.company_slug} ({self.company_id})"
