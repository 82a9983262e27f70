"""Tenant-owned rows as model instances from SQL written once per model, for the reads every
page of a kind makes (a contact page's history, the contact itself, a person's memberships): the
ORM builds the same SELECT anew on each request, and that costs more than PostgreSQL running
it. Rows are made into instances with Model.from_db and the ORM's own field converters (JSON and
the like), so they behave as the ORM's do. Conditions and orderings are our own constants;
values are always parameters."""

from functools import cache

from django.db import connection, models


@cache
def model_columns(model: type[models.Model], alias: str) -> str:
    """`alias."column", …` for every concrete field of `model`, in its fields' order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


@cache
def _reading(model: type[models.Model]) -> tuple[list[str], list[tuple[int, list]]]:
    fields = model._meta.concrete_fields
    converters = [(i, field.get_db_converters(connection)) for i, field in enumerate(fields)]
    return [field.attname for field in fields], [(i, found) for i, found in converters if found]


def from_row(model: type[models.Model], values) -> models.Model:
    """An instance from its columns' values (as model_columns lists them), as the ORM makes it."""
    names, converters = _reading(model)
    values = list(values)
    for i, field_converters in converters:
        for convert in field_converters:
            values[i] = convert(values[i], None, connection)
    return model.from_db(connection.alias, names, values)


def width(model: type[models.Model]) -> int:
    """How many columns model_columns gives (to split a joined row)."""
    return len(model._meta.concrete_fields)


def tenant_rows(
    model: type[models.Model],
    *,
    tenant_id: int,
    where: str,
    params: list,
    order_by: str,
    limit: int | None = None,
) -> list:
    """`model`'s rows of the company that match `where` (SQL over its own columns), in
    `order_by`, at most `limit`, as instances. Always scoped to one company, as for_tenant() is."""
    sql = (
        f'SELECT {model_columns(model, "r")} FROM "{model._meta.db_table}" r '  # noqa: S608
        f'WHERE r."tenant_id" = %s AND ({where}) ORDER BY {order_by}'
        + (" LIMIT %s" if limit else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, *params, *([limit] if limit else [])])
        return [from_row(model, row) for row in cursor.fetchall()]
