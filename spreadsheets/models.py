"""Spreadsheet imports: the uploaded file, its mapping and progress, and each chunk applied.
They began in `tagging` and kept its table names (db_table), so moving them changed no table."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned


class ImportJob(TenantOwned):
    """One uploaded spreadsheet, its column mapping, its progress and its report."""

    PENDING, QUEUED, RUNNING, DONE = "pending", "queued", "running", "done"
    EXPIRED = "expired"  # left pending too long: the file is gone, the row says so
    FAILED = "failed"  # gave up after its retries: `failure` says why, "continue" resumes it
    STATUSES = [(PENDING, _("Waiting for the mapping")), (QUEUED, _("Queued")),
                (RUNNING, _("Importing")), (DONE, _("Done")),
                (EXPIRED, _("Expired, upload again")), (FAILED, _("Stopped"))]  # fmt: skip

    created_by = models.ForeignKey(
        "crm.Membership", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content = models.BinaryField()
    kind = models.CharField(max_length=8)  # csv or xlsx
    encoding = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=10, default="zh-hans")
    mapping = models.JSONField(default=dict, blank=True)  # column index -> field
    create_tags = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # people already there, nothing new
    merged = models.PositiveIntegerField(default=0)  # rows merged into an earlier row
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{row, code, value}]
    # rows that landed, but not quite as written: [{row, code, value}], worded when shown
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # never stuck: a running import beats; a beat backstop re-queues one whose beat stopped
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started (redeliveries too)
    failure = models.CharField(max_length=40, blank=True)  # a code, worded when shown
    # reading: the spreadsheet row holding the headers (a title row may sit above it)
    header_row = models.PositiveIntegerField(default=1)
    # an Excel file's sheet read, by name ("": the one Excel opens on; a CSV has none). The
    # mapping step may choose another; the worker reads the one chosen.
    sheet = models.CharField(max_length=31, blank=True)
    # choices of the mapping step
    merge_shared_email = models.BooleanField(default=False)
    owner = models.ForeignKey(  # one owner for every row (or an "owner" column in `mapping`)
        "crm.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # undo: "remove the contacts this import created", for those untouched since
    undone_at = models.DateTimeField(null=True, blank=True)
    undone = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "tagging_importjob"  # the table it had in tagging
        ordering = ["-created_at"]
        indexes = [
            # the waiting uploads of a company: counted at each upload, expired by beat
            models.Index(fields=["tenant", "status", "created_at"], name="importjob_waiting"),
            # (the backstop asks each company for its queued and running ones: the same index)
        ]

    def __str__(self) -> str:
        return self.file_name


class ImportChunk(TenantOwned):
    """A chunk of an import, applied: written in the chunk's own transaction, so a chunk is done
    exactly when its people are, and chunks side by side never wait on one shared row."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    created = models.PositiveIntegerField()
    updated = models.PositiveIntegerField()
    skipped = models.PositiveIntegerField()
    merged = models.PositiveIntegerField(default=0)
    # the contacts this chunk created, for the import's undo
    created_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # rows that landed, but not quite as written, found while applying (the checking's own are
    # on the job): here, not on the job, so chunks side by side never wait on the job's row
    warnings = models.JSONField(default=list, blank=True)
    # rows refused while applying (a new person without a required custom field's value):
    # [{row, code, key, value, reason}], with the checking's errors when shown; `failed` rows
    errors = models.JSONField(default=list, blank=True)
    failed = models.PositiveIntegerField(default=0)
    # the custom values this chunk wrote into people already there ({contact id: {key: value}},
    # keys they held no value of): the import's undo clears those still as written
    custom_filled = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "tagging_importchunk"  # the table it had in tagging
        constraints = [
            models.UniqueConstraint(fields=["tenant", "job", "number"], name="importchunk_once")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number}"
