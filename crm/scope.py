"""Which company, and which person, the database lets this connection see.

PostgreSQL's row-level security (crm/rls.py) shows a tenant-owned row only when its tenant_id
equals the connection's `app.tenant_id` (memberships and invitations also to the user named by
`app.user_id`; an API token to the request that names its hash). Every request starts by setting
both (DatabaseScopeMiddleware), the tenant once resolved (TenantMiddleware), every Celery task
for its tenant (crm/celery.py), and work that crosses companies sets each in turn with
`tenant_scope`. A connection reused for the next request or task never carries the last one's
company, and with nothing set a tenant table shows no rows.
"""

import inspect
from contextlib import contextmanager, suppress

from django.db import DatabaseError, connection

SETTINGS = ("tenant_id", "user_id", "token_hash")


def _swap(values: dict[str, object]) -> dict[str, str]:
    """Sets the given app.* settings for the session; returns what they were, in one query."""
    names = list(values)
    columns = ", ".join(
        f"current_setting('app.{name}', true), set_config('app.{name}', %s, false)"
        for name in names
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", ["" if v is None else str(v) for v in values.values()])  # noqa: S608 - names are ours
        row = cursor.fetchone()
    return {name: row[2 * i] or "" for i, name in enumerate(names)}


def scope_reset(*, user_id: int | None = None) -> None:
    """A new request or task: no company yet, only (maybe) the person."""
    _swap({"tenant_id": None, "user_id": user_id, "token_hash": None})


def scope_set_tenant(tenant_id: int | None) -> None:
    _swap({"tenant_id": tenant_id})


@contextmanager
def _scoped(values: dict[str, object]):
    previous = _swap(values)
    try:
        yield
    finally:
        # If the transaction failed, its rollback undoes the setting as well.
        with suppress(DatabaseError):
            _swap(previous)


def tenant_scope(tenant):
    """`with tenant_scope(tenant):` the rows of that company, then what was set before."""
    return _scoped({"tenant_id": getattr(tenant, "pk", tenant)})


def user_scope(user):
    """`with user_scope(user):` that person's memberships and invitations, in every company."""
    return _scoped({"user_id": getattr(user, "pk", user)})


def token_scope(token_hash: str):
    """`with token_scope(hash):` the API token with that hash, whichever company it is of."""
    return _scoped({"token_hash": token_hash})


# --- Celery: each task sees the company it was given (its first argument, tenant_id) ---------

_before_task: dict[str, dict[str, str]] = {}


def _task_tenant(task, args, kwargs) -> object:
    parameters = list(inspect.signature(task.run).parameters)
    if parameters[:1] != ["tenant_id"]:
        return None  # platform-wide work (beat's loops) sets each company in turn itself
    return kwargs.get("tenant_id", args[0] if args else None)


def task_scope_enter(*, task_id: str, task, args, kwargs, **_signal) -> None:
    _before_task[task_id] = _swap(
        {"tenant_id": _task_tenant(task, args or (), kwargs or {}), "user_id": None}
    )


def task_scope_leave(*, task_id: str, **_signal) -> None:
    previous = _before_task.pop(task_id, None)
    if previous is not None:
        with suppress(DatabaseError):  # a broken connection is closed, and its scope with it
            _swap(previous)
