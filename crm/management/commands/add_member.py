from django.core.management.base import BaseCommand, CommandError

from crm.models import Role, Tenant
from crm.services import ServiceError
from crm.tenancy import membership_add


class Command(BaseCommand):
    help = "Adds a user to a company with a role, or changes the role of an existing member."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the company's short name")
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--password", help="first password, only for a new user (an existing user keeps theirs)"
        )
        parser.add_argument("--email", default="")

    def handle(self, *args, slug, username, role, password, email, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No company with the short name '{slug}'.")
        try:
            membership, user_created = membership_add(
                tenant=tenant,
                actor=None,
                username=username,
                role=role,
                email=email,
                password=password,
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        who = "new user" if user_created else "existing user"
        self.stdout.write(
            self.style.SUCCESS(
                f"'{membership.user.username}' ({who}) is {membership.role} of '{tenant.name}'."
            )
        )
