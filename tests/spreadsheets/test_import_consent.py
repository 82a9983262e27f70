"""A marketer imports the list from a trade-show form with a 短信同意 column: yes and no land as
each person's consent (source: import), a value that is neither is a row error in the report,
and undoing the import takes its consent back."""

from django.utils import translation

from crm.consent import consent_grant, consent_states, consent_withdraw
from crm.models import AuditEntry, AuditKind, Consent, ConsentSource, Contact
from spreadsheets.imports import jobs as imports
from spreadsheets.imports import report
from spreadsheets.imports.undo import import_undo
from tests.factories import ContactFactory

FILE = (
    "姓名,手机,短信同意,email consent\n"
    "张小明,13800138001,是,yes\n"
    "李小红,13800138002,拒绝,\n"
    "王小刚,13800138003,也许,否\n"
    "赵小华,13800138004,,\n"
    "钱小丽,13800138005,同意,NO\n"
)


def upload(tenant, member, text: str):
    return imports.import_start(tenant=tenant, actor=member, file_name="展会名单.csv",
                                content=text.encode(), language="en")  # fmt: skip


def states(tenant) -> dict[str, dict[str, str]]:
    return {
        contact.name: {i.channel: i.state for i in consent_states(contact=contact)
                       if i.channel in ("sms", "email")}
        for contact in Contact.objects.for_tenant(tenant)
    }  # fmt: skip


def test_a_consent_column_lands_as_each_persons_consent(tenant, marketer):
    job = upload(tenant, marketer, FILE)
    # the headers say which channel: they map by themselves
    assert job.mapping == {"0": "name", "1": "phone", "2": "consent_sms", "3": "consent_email"}
    job = imports.import_run(job=job)
    assert (job.created, job.failed) == (4, 1)
    assert states(tenant) == {
        "张小明": {"email": "granted", "sms": "granted"},
        "李小红": {"email": "unknown", "sms": "withdrawn"},
        "赵小华": {"email": "unknown", "sms": "unknown"},  # empty cells say nothing
        "钱小丽": {"email": "withdrawn", "sms": "granted"},
    }
    rows = Consent.objects.for_tenant(tenant)
    assert set(rows.values_list("source", "actor", "import_job_id")) == {
        (ConsentSource.IMPORT, marketer.pk, job.pk)
    }
    # a value that is neither yes nor no is reported by its row and column, never guessed
    with translation.override("en"):
        errors = report.errors_shown(report.import_errors(job), tenant=tenant)
    assert [(e["row"], e["column"]) for e in errors] == [(4, "Consent: SMS")]
    assert "“也许” is neither yes nor no" in errors[0]["reason"]
    audited = AuditEntry.objects.for_tenant(tenant).filter(
        kind__in=[AuditKind.CONSENT_GRANTED, AuditKind.CONSENT_WITHDRAWN]
    )
    assert sorted(audited.values_list("kind", "count", "subject")) == [
        ("consent_granted", 3, "展会名单.csv"), ("consent_withdrawn", 2, "展会名单.csv"),
    ]  # fmt: skip


def test_people_already_here_get_the_files_word_and_undo_takes_it_back(tenant, admin, marketer):
    here = ContactFactory(tenant=tenant, name="张小明", phone="13800138001")
    consent_grant(contact=here, channel="sms", actor=admin)  # agreed at the front desk
    job = imports.import_run(
        job=upload(tenant, marketer, "姓名,手机,短信同意\n张小明,13800138001,否\n")
    )
    assert (job.created, job.failed) == (0, 0)
    assert states(tenant)["张小明"]["sms"] == "withdrawn"
    import_undo(job=job, actor=marketer)
    assert states(tenant)["张小明"]["sms"] == "granted"  # as before the import
    assert list(Consent.objects.for_tenant(tenant).values_list("source", flat=True)) == ["hand"]


def test_a_person_the_import_created_and_whose_consent_was_recorded_since_is_kept(
    tenant, admin, marketer
):
    job = imports.import_run(
        job=upload(tenant, marketer, "姓名,手机,短信同意\n新人,13800138009,是\n")
    )
    person = Contact.objects.for_tenant(tenant).get(name="新人")
    Contact.objects.for_tenant(tenant).filter(pk=person.pk).update(updated_at=person.created_at)
    consent_withdraw(contact=person, channel="sms", actor=admin)  # they phoned to say stop
    counts = import_undo(job=job, actor=marketer)
    assert (counts.removable, counts.kept) == (0, 1)
    assert states(tenant)["新人"]["sms"] == "withdrawn"
