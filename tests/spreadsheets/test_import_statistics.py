"""After a big import the planner's statistics are brought up to date, though the application's
role owns no table (PostgreSQL lets only the owner ANALYZE: anyone else gets a warning and
nothing is done)."""

from unittest import mock

import pytest
from django.db import connection
from django.db.utils import DatabaseError

from spreadsheets.imports import jobs as imports
from spreadsheets.imports.jobs import ANALYZED, _analyze
from spreadsheets.models import ImportJob


def analyzed_times(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("table", ANALYZED)
def test_the_application_role_has_the_tables_an_import_filled_analyzed(table, as_app_role):
    before = analyzed_times(table)
    as_app_role()
    warnings = []
    connection.connection.add_notice_handler(lambda notice: warnings.append(notice.message_primary))

    _analyze(table)

    assert warnings == []
    assert analyzed_times(table) == before + 1


def test_no_other_table_can_be_analyzed_through_it(as_app_role):
    as_app_role()
    with pytest.raises(DatabaseError, match="not a table an import fills"):
        _analyze("crm_membership")


def queued_import(tenant, marketer, rows: int, first: int = 0) -> ImportJob:
    lines = "".join(f"客户{i},1380000{i:04d}\n" for i in range(first, first + rows))
    job = imports.import_start(tenant=tenant, actor=marketer, file_name="客户.csv",
                               content=("姓名,手机\n" + lines).encode(), language="en")  # fmt: skip
    job.mapping = {"0": "name", "1": "phone"}
    job.status = ImportJob.QUEUED
    job.save(update_fields=["mapping", "status"])
    return job


def test_a_big_import_has_its_tables_analyzed_after_it_is_done(
    tenant, marketer, django_capture_on_commit_callbacks
):
    with mock.patch.object(imports, "ANALYZE_AFTER", 3):
        before = analyzed_times("crm_contact")
        with django_capture_on_commit_callbacks(execute=True):
            imports.import_run(job=queued_import(tenant, marketer, 2))  # small: not worth it
        assert analyzed_times("crm_contact") == before

        with django_capture_on_commit_callbacks(execute=True):
            job = imports.import_run(job=queued_import(tenant, marketer, 3, first=100))

    assert (job.status, job.created) == ("done", 3)
    assert analyzed_times("crm_contact") == before + 1
