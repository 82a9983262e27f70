"""The import's ANALYZE after a big import runs as the tables' owner.

The application's role owns no table, and PostgreSQL skips ANALYZE for anyone but the owner with
a warning: the statistics stayed stale after every big import (measured earlier: a recompute's
plan then took 40 s instead of 0.18 s). This function, created by the owner that migrates and
run with its rights, analyzes one of the three tables an import fills, and nothing else."""

from django.db import migrations

ANALYZE = """
CREATE FUNCTION import_table_analyze(table_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF table_name NOT IN ('crm_contact', 'lifecycle_stagechange', 'tagging_contacttag') THEN
        RAISE EXCEPTION 'not a table an import fills: %', table_name;
    END IF;
    EXECUTE format('ANALYZE %I', table_name);
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("spreadsheets", "0001_initial"),
        ("lifecycle", "0010_reach_counts_kept"),
    ]

    operations = [
        migrations.RunSQL(ANALYZE, "DROP FUNCTION import_table_analyze(text);"),
    ]
