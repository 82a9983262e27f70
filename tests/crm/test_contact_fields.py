"""A contact's own fields are stated once (crm.models.CONTACT_FIELDS): the contact form, the
API, imports and merges all take every one of them, so a new field cannot be forgotten in
one of them."""

from crm import merges
from crm.forms import ContactForm
from crm.models import CONTACT_FIELDS
from integrations.schemas import ContactIn, ContactPatch
from spreadsheets.imports import checking, reading


def test_every_way_in_takes_every_contact_field():
    fields = set(CONTACT_FIELDS)
    assert fields <= set(ContactForm.base_fields)
    assert fields <= set(ContactIn.model_fields) and fields <= set(ContactPatch.model_fields)
    assert fields <= set(reading.FIELDS)  # the columns an import maps
    assert checking.VALUES == CONTACT_FIELDS  # and fills
    assert fields <= set(merges.MERGE_FIELDS)
