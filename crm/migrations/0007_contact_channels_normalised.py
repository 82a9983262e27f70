"""Contacts' phones, emails and WeChat IDs stored before there was one normalisation
(crm/normalize.py: NFKC, then libphonenumber for phones) are normalised again: full-width
digits and letters, 86 written before a landline, area codes.

Nothing is merged and nothing fails: where a contact's normalised value is already held by
another contact of the same company (or by an earlier one normalised to it here), the contact
keeps its value as it was, and a line names both; they are then the duplicates a person merges
by hand. A phone the rules refuse stays as it was, with a line too.

Runs as the tables' owner, which passes row-level security: it reads every company's contacts
without app.tenant_id, one company at a time."""

import logging

from django.db import migrations

from crm.normalize import PhoneError, normalize_email, normalize_phone, normalize_wechat_id

logger = logging.getLogger("crm.migrations")
NORMALIZE = {"phone": normalize_phone, "email": normalize_email, "wechat_id": normalize_wechat_id}
BATCH = 2000


def plan(field: str, rows: list[tuple[int, str]], max_length: int) -> tuple[dict, list[str]]:
    """({contact id: new value}, report lines) for one field of one company's contacts, given
    as (id, stored value) in id order: an earlier contact is the one that takes a value."""
    normalize = NORMALIZE[field]
    holder: dict[str, int] = {}  # value -> the contact that holds it, or will
    wanted: list[tuple[int, str, str]] = []
    lines: list[tuple[int, str]] = []
    for pk, old in rows:
        if not old:
            continue
        try:
            new = normalize(old)
        except PhoneError as error:
            lines.append((pk, f"contact {pk} keeps {field} {old!r}: {error.code}, not a phone"))
            continue
        if new == old:
            holder[new] = pk  # already as stored today: it keeps it (the values are unique)
        elif len(new) > max_length:
            lines.append((pk, f"contact {pk} keeps {field} {old!r}: {new!r} would be too long"))
        else:
            wanted.append((pk, old, new))
    changes = {}
    for pk, old, new in wanted:
        if new and new in holder:
            why = f"as {new!r} it is contact {holder[new]}'s (a duplicate, not merged)"
            lines.append((pk, f"contact {pk} keeps {field} {old!r}: {why}"))
            continue
        if new:
            holder[new] = pk
        changes[pk] = new
    return changes, [line for _pk, line in sorted(lines)]


def normalise_contacts(apps, schema_editor):
    Contact = apps.get_model("crm", "Contact")
    contacts = Contact._base_manager.order_by()
    for tenant_id in sorted(set(contacts.values_list("tenant_id", flat=True).distinct())):
        rows = list(
            contacts.filter(tenant_id=tenant_id)
            .order_by("pk")
            .values_list("pk", *NORMALIZE)
            .iterator(chunk_size=BATCH)
        )
        for index, field in enumerate(NORMALIZE, start=1):
            max_length = Contact._meta.get_field(field).max_length
            changes, lines = plan(field, [(r[0], r[index]) for r in rows], max_length)
            for line in lines:
                logger.warning("Normalising contacts of company %s: %s", tenant_id, line)
            Contact._base_manager.bulk_update(
                [Contact(pk=pk, **{field: value}) for pk, value in changes.items()],
                [field],
                batch_size=BATCH,
            )
            if changes:
                logger.info(
                    "Normalising contacts of company %s: %s %s values rewritten",
                    tenant_id,
                    len(changes),
                    field,
                )


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_one_time_link_sets_password")]

    operations = [
        migrations.RunPython(normalise_contacts, migrations.RunPython.noop, elidable=True)
    ]
