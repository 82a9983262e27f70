from django.core.management.base import BaseCommand, CommandError

from crm.services import ServiceError
from crm.tenancy import tenant_create


class Command(BaseCommand):
    help = "Creates a company (tenant) with its first admin, creating the user if needed."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="short name used in addresses: /t/<slug>/")
        parser.add_argument("--name", required=True, help="company name shown to users")
        parser.add_argument("--admin", required=True, help="username of the first admin")
        parser.add_argument("--password", help="password, when the admin user is new")
        parser.add_argument("--time-zone", default="Asia/Shanghai")
        parser.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])

    def handle(self, *args, slug, name, admin, password, time_zone, language, **options):
        try:
            tenant, membership, user_created = tenant_create(
                slug=slug,
                name=name,
                admin_username=admin,
                admin_password=password,
                time_zone=time_zone,
                default_language=language,
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        who = "new user" if user_created else "existing user"
        self.stdout.write(
            self.style.SUCCESS(
                f"Created company '{tenant.name}' at /t/{tenant.slug}/ "
                f"with admin '{membership.user.username}' ({who})."
            )
        )
