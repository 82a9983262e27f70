from django.core.management.base import BaseCommand, CommandError

from crm.models import Membership, Tenant
from crm.scope import tenant_scope
from crm.services import ServiceError
from integrations.services import api_token_create


class Command(BaseCommand):
    help = (
        "Creates an API token acting as a member of a company and prints it, alone on one line. "
        "It is shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the company's short name")
        parser.add_argument("username", help="the member the token acts as (their role applies)")
        parser.add_argument("--name", default="", help="what the token is for (default: CLI)")

    def handle(self, *args, slug, username, name, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No company with the short name '{slug}'.")
        with tenant_scope(tenant):
            membership = (
                Membership.objects.for_tenant(tenant).filter(user__username=username).first()
            )
            if membership is None:
                raise CommandError(f"'{username}' is not a member of '{tenant.name}'.")
            try:
                _row, token = api_token_create(
                    tenant=tenant, actor=None, membership=membership, name=name or "CLI"
                )
            except ServiceError as error:
                raise CommandError(error.message) from error
        self.stdout.write(token)
