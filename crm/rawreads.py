"""Tenant-owned rows as model instances from SQL written once per model, for the reads every
page of a kind makes (a contact page's history): the ORM builds the same SELECT anew on each
request, and that costs more than PostgreSQL running it. Always scoped to one company, as
for_tenant() is; conditions and orderings are our own constants, values are parameters."""

from functools import cache

from django.db import connection, models


@cache
def _select(model: type[models.Model]) -> tuple[str, list[str], list[tuple[int, list]]]:
    fields = model._meta.concrete_fields
    columns = ", ".join(f'"{field.column}"' for field in fields)
    converters = [(i, field.get_db_converters(connection)) for i, field in enumerate(fields)]
    return (
        f'SELECT {columns} FROM "{model._meta.db_table}" WHERE "tenant_id" = %s',  # noqa: S608
        [field.attname for field in fields],
        [(i, found) for i, found in converters if found],
    )


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
    `order_by`, at most `limit`, as instances (their JSON and other fields converted as the
    ORM would)."""
    select, names, converters = _select(model)
    sql = f"{select} AND ({where}) ORDER BY {order_by}" + (" LIMIT %s" if limit else "")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, *params, *([limit] if limit else [])])
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = list(row)
        for i, field_converters in converters:
            for convert in field_converters:
                values[i] = convert(values[i], None, connection)
        found.append(model.from_db(connection.alias, names, values))
    return found
