"""Contains-search: 小雨 finds 林小雨, a fragment of a company, an email, a WeChat ID or the notes
finds its contact, at a million contacts.

- crm_contacttext holds each contact's searchable text, folded (crm_contact_text()), kept by
  triggers on crm_contact: a set-based insert for each INSERT statement (an import's chunk is one
  statement), an upsert for each row whose text changed, a set-based delete. Moves and owner
  changes, which rewrite a contact's row, never touch it or its index.
- Its GIN index holds the text's grams (crm_text_grams()): two characters around any that is not
  ASCII (so a two-character Chinese name is found), three where all are ASCII (digits and
  Latin letters are too few to tell rows apart in pairs), each led by the company's id. This is
  not pg_trgm: the extension is not in the embedded PostgreSQL of `make run` and `make test`,
  pg_trgm needs three characters (小雨 has two) and it reads Chinese only in some locales.
- crm_contacts_containing(needle, most) answers which contacts of the connection's company
  (`app.tenant_id`, as row-level security reads it: never an argument) contain the needle, at
  most `most` of them. SECURITY DEFINER, as the owner: under row-level security PostgreSQL checks
  the policy before any condition that is not leakproof, so the app's role could not seek the
  index itself. Only the app's role may call it (crm/grants.py).

Not atomic, as 0014: the existing contacts' text is written in batches, each committed, and the
index built without locking writes out. The triggers come first, and upsert, so a contact
written meanwhile is never left with old text."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

BATCH = 20_000

FUNCTIONS = r"""
-- What contains-search compares: full width read as half (ＡＢＣ is ABC), lower case.
CREATE FUNCTION crm_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(normalize(value, NFKC));

-- A contact's searchable text; the unit separator keeps a match inside one field.
CREATE FUNCTION crm_contact_text(name text, company text, email text, wechat_id text, notes text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN crm_fold(name || chr(31) || company || chr(31) || email || chr(31) || wechat_id
                || chr(31) || notes);

-- The keys of a text (or of what is looked for: the same rule gives a needle's keys, which
-- the text then holds): each pair of characters of which one is not ASCII, each three ASCII
-- characters, within a field, led by the company's id. A needle with none (one character, two
-- ASCII ones) cannot be sought.
CREATE FUNCTION crm_text_grams(tenant_id bigint, body text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
  lead text := tenant_id || ':';
  grams text[] := '{}';
  part text;
  a text; b text; x text;
  wide_a boolean; wide_b boolean; wide_x boolean;
BEGIN
  FOREACH part IN ARRAY string_to_array(body, chr(31)) LOOP
    a := NULL;
    b := NULL;
    FOREACH x IN ARRAY string_to_array(part, NULL) LOOP
      wide_x := ascii(x) > 127;
      IF b IS NOT NULL THEN
        IF wide_b OR wide_x THEN
          grams := grams || (lead || b || x);
        ELSIF a IS NOT NULL AND NOT wide_a THEN
          grams := grams || (lead || a || b || x);
        END IF;
      END IF;
      a := b; wide_a := wide_b;
      b := x; wide_b := wide_x;
    END LOOP;
  END LOOP;
  RETURN grams;
END $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION crm_text_grams(bigint, text);
DROP FUNCTION crm_contact_text(text, text, text, text, text);
DROP FUNCTION crm_fold(text);
"""

TRIGGERS = """
CREATE FUNCTION crm_contacttext_added() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO crm_contacttext (contact_id, tenant_id, body)
  SELECT id, tenant_id, crm_contact_text(name, company, email, wechat_id, notes) FROM added;
  RETURN NULL;
END $$;

CREATE FUNCTION crm_contacttext_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO crm_contacttext (contact_id, tenant_id, body)
  VALUES (NEW.id, NEW.tenant_id,
          crm_contact_text(NEW.name, NEW.company, NEW.email, NEW.wechat_id, NEW.notes))
  ON CONFLICT (contact_id) DO UPDATE SET body = EXCLUDED.body;
  RETURN NULL;
END $$;

CREATE FUNCTION crm_contacttext_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM crm_contacttext WHERE contact_id IN (SELECT id FROM removed);
  RETURN NULL;
END $$;

CREATE TRIGGER crm_contacttext_added AFTER INSERT ON crm_contact
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION crm_contacttext_added();

CREATE TRIGGER crm_contacttext_changed
AFTER UPDATE OF name, company, email, wechat_id, notes ON crm_contact
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.company IS DISTINCT FROM NEW.company
                   OR OLD.email IS DISTINCT FROM NEW.email
                   OR OLD.wechat_id IS DISTINCT FROM NEW.wechat_id
                   OR OLD.notes IS DISTINCT FROM NEW.notes)
EXECUTE FUNCTION crm_contacttext_changed();

CREATE TRIGGER crm_contacttext_removed AFTER DELETE ON crm_contact
REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION crm_contacttext_removed();
"""

DROP_TRIGGERS = """
DROP TRIGGER crm_contacttext_removed ON crm_contact;
DROP TRIGGER crm_contacttext_changed ON crm_contact;
DROP TRIGGER crm_contacttext_added ON crm_contact;
DROP FUNCTION crm_contacttext_removed();
DROP FUNCTION crm_contacttext_changed();
DROP FUNCTION crm_contacttext_added();
"""

SEARCH = """
CREATE FUNCTION crm_contacts_containing(
    needle text, most integer, OUT searched_tenant bigint, OUT ids bigint[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  wanted text[];
BEGIN
  -- the company row-level security shows this connection; with none set, no answer
  searched_tenant := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
  IF searched_tenant IS NULL THEN
    RETURN;
  END IF;
  needle := crm_fold(needle);
  wanted := crm_text_grams(searched_tenant, needle);
  IF cardinality(wanted) = 0 THEN
    RETURN;  -- too short to seek: ids stays NULL
  END IF;
  ids := ARRAY(
    SELECT t.contact_id FROM crm_contacttext t
    WHERE t.tenant_id = searched_tenant
      AND crm_text_grams(t.tenant_id, t.body) @> wanted
      AND strpos(t.body, needle) > 0
    LIMIT most);
END $$;

REVOKE ALL ON FUNCTION crm_contacts_containing(text, integer) FROM PUBLIC;
"""

DROP_SEARCH = "DROP FUNCTION crm_contacts_containing(text, integer);"


def fill(apps, schema_editor):
    """Every existing contact's text, a batch of ids at a time, each batch committed."""
    last = 0
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT max(id) FROM (SELECT id FROM crm_contact WHERE id > %s ORDER BY id"
                " LIMIT %s) batch",
                [last, BATCH],
            )
            (upto,) = cursor.fetchone()
            if upto is None:
                return
            cursor.execute(
                "INSERT INTO crm_contacttext (contact_id, tenant_id, body)"
                " SELECT id, tenant_id, crm_contact_text(name, company, email, wechat_id, notes)"
                " FROM crm_contact WHERE id > %s AND id <= %s"
                " ON CONFLICT (contact_id) DO NOTHING",
                [last, upto],
            )
            last = upto


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0015_contact_indexes_for_team_and_board_values"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.CreateModel(
            name="ContactText",
            fields=[
                (
                    "contact",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="crm.contact",
                    ),
                ),
                ("body", models.TextField()),
                (
                    "tenant",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to="crm.tenant",
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunPython(fill, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="contacttext",
            index=GinIndex(
                models.Func(
                    models.F("tenant"),
                    models.F("body"),
                    function="crm_text_grams",
                    output_field=ArrayField(models.TextField()),
                ),
                gin_pending_list_limit=1024,
                name="contacttext_grams",
            ),
        ),
        migrations.RunSQL(SEARCH, DROP_SEARCH),
    ]
