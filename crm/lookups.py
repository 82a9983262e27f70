"""`field__any=[...]`: one of these values, sent to PostgreSQL as a single array parameter
(`= ANY(%s)`) instead of one parameter per value, so a bulk action over 10,000 picked ids costs
the same to send and to plan as one over ten."""

from django.db.models import ForeignKey, IntegerField, Lookup


@ForeignKey.register_lookup
@IntegerField.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = [int(value) for value in self.rhs]
        if not values:
            return "1 = 0", []  # nothing picked: nothing matches (the SQL stays valid)
        return f"{lhs} = ANY(%s::bigint[])", [*params, values]
