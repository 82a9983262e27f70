"""Deleting a contact (a merge, an import undone, a company's clean-up) has PostgreSQL check
every table that points at it, one lookup per deleted row through the pointing column. Without
an index that starts with that column, each lookup reads the whole table: undoing a 100,000-row
import beside 200,000 grades never finished. Every foreign key of ours is indexed by it."""

from django.db import connection

FOREIGN_KEYS_WITHOUT_AN_INDEX = """
SELECT c.conrelid::regclass::text, a.attname
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
  AND c.confrelid <> 'crm_tenant'::regclass  -- companies are never deleted by the app
  AND NOT EXISTS (SELECT 1 FROM pg_index i
                  WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
ORDER BY 1, 2
"""


def test_every_foreign_key_has_an_index_that_starts_with_it(db):
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS_WITHOUT_AN_INDEX)
        missing = cursor.fetchall()
    ours = [(table, column) for table, column in missing if not table.startswith(
        ("django_", "auth_", "axes_"))]  # fmt: skip
    assert ours == []
