"""Contact exports a marketer can open in Excel: CSV (UTF-8 with BOM) streamed row by row, or
XLSX written in openpyxl's write-only mode, with the company's stage labels and tag names.
Nothing can run as a formula: CSV cells that start like one get a leading quote; XLSX text is
stored as text."""

import re
import tempfile
from datetime import date
from decimal import Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from crm.consent import channel_label, consent_since
from crm.customfields import custom_fields_of, value_display
from crm.models import CustomField, Tenant
from crm.selectors import member_list
from grading.models import ContactGrade
from grading.selectors import tiers_of
from lifecycle.selectors import stage_settings
from tagging.models import ContactTag

BATCH = 2000


def _tags_in_order(tenant: Tenant) -> QuerySet:
    return (
        ContactTag.objects.for_tenant(tenant)
        .select_related("tag")
        .order_by("tag__group__position", "tag__group__label", "tag__position", "tag__label")
    )


def _header() -> list[str]:
    return [
        _("Name"), _("Phone"), _("Email"), _("WeChat ID"), _("Weibo"), _("Company"),
        _("Source"), _("Stage"), _("Status"), _("Lost reason"), _("Owner"), _("Tags"),
        _("Tier"), _("Expected amount"), _("Created"), _("Note"),
    ]  # fmt: skip


def export_rows(
    *,
    tenant: Tenant,
    contacts: QuerySet,
    ordering: tuple[str, ...] = ("pk",),
    typed: bool = False,
    consent_channel: str = "",
):
    """The header, then one list of cells per contact, in batches (never the whole tenant in
    memory). Tags are listed as everywhere: by group, each group's in the order set for it.
    The company's own fields follow, one column each, headed by the field's name and written
    as the contact page shows them (¥1,200.00, 周六、周日, a member's name): a file imports
    again into the same fields. `typed` (XLSX): dates as dates and numbers and money as
    numbers, so Excel sorts and sums them as it does 创建时间 and 预计金额. `consent_channel`
    (an audience requiring consent): a last column named after the channel says when each
    person agreed to it."""
    labels = stage_settings(tenant=tenant)
    custom = custom_fields_of(tenant=tenant)
    members = (
        {member.pk: member.display_name for member in member_list(tenant=tenant)}
        if any(field.kind == CustomField.Kind.MEMBER for field in custom)
        else {}
    )
    consent_header = (
        [_("Agreed to %(channel)s on") % {"channel": channel_label(consent_channel)}]
        if consent_channel
        else []
    )
    yield [*_header(), *(field.label for field in custom), *consent_header]
    qs = (
        contacts.select_related("owner__user")
        .prefetch_related(None)  # the list's own tags, in no order: ours instead
        .prefetch_related(Prefetch("contact_tags", queryset=_tags_in_order(tenant)))
        .order_by(*ordering)
    )
    tiers = {tier.pk: tier.name for tier in tiers_of(tenant=tenant)}
    if tiers:  # each contact's tier, in the same query
        qs = qs.annotate(tier_id=Subquery(
            ContactGrade.objects.for_tenant(tenant).filter(contact_id=OuterRef("pk"))
            .values("tier_id")[:1]
        ))  # fmt: skip
    if consent_channel:
        qs = qs.annotate(consent_at=consent_since(tenant=tenant, channel=consent_channel))
    for contact in qs.iterator(chunk_size=BATCH):
        tags = "、".join(held.tag.label for held in contact.contact_tags.all())
        tier = tiers.get(getattr(contact, "tier_id", None), "")
        yield [
            contact.name, contact.phone, contact.email, contact.wechat_id, contact.weibo,
            contact.company, contact.source, labels[contact.stage].display_label,
            contact.get_status_display(),
            contact.get_lost_reason_display() if contact.lost_reason else "",
            contact.owner.display_name if contact.owner else "", tags, tier,
            contact.expected_amount,
            timezone.localtime(contact.created_at).replace(tzinfo=None, microsecond=0),
            contact.notes,
            *(_custom_cell(field, (contact.custom or {}).get(field.key), members, typed)
              for field in custom),
            *([_local(contact.consent_at)] if consent_channel else []),
        ]  # fmt: skip


def _local(moment):
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0) if moment else ""


def _custom_cell(field: CustomField, value, members: dict[int, str], typed: bool):
    """A custom value as the file holds it: as the page shows it, or (`typed`) a date or a
    number where the field holds one."""
    if typed and value not in (None, ""):
        if field.kind == CustomField.Kind.DATE:
            return date.fromisoformat(str(value))
        if field.kind in (CustomField.Kind.NUMBER, CustomField.Kind.MONEY):
            return Decimal(str(value))
    return value_display(field, value, member_names=members)


def _xlsx_cell(sheet, value):
    """Numbers and times stay numbers and times; text is always stored as text, so a name
    like "=1+1" shows as written and never runs as a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    if isinstance(value, Decimal):
        return float(value)
    return value


def sheet_title(name: str) -> str:
    """A name Excel accepts for a sheet: none of []:*?/\\, not starting or ending with a
    quote, at most 31 characters (an audience may be called "Q1: leads*")."""
    title = re.sub(r"[\[\]:*?/\\]", "-", name or "").strip("'").strip()[:31].strip()
    return title or "contacts"


def xlsx_file(rows, *, title: str):
    """An .xlsx in a temporary file (write-only: rows go to disk as they come)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title(title))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
