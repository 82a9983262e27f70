"""Django's database sessions, read by one hand-written query: every signed-in request reads its
session, and the ORM spent longer building that query than PostgreSQL took to answer it. Saved,
rotated, flushed and expired exactly as Django's own (this only overrides the read)."""

from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:  # none, or expired: as Django's own, a new session starts
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0])
