"""`manage.py delete_company <slug>`: deletes a company and everything it stored, for an operator.
Asks for the short name to be typed again unless --yes. Run it again after a kill: it continues."""

from django.core.management.base import BaseCommand, CommandError

from crm.deletion import (
    CHUNK,
    SOURCE_COMMAND,
    DeletionBusy,
    company_deletion_run,
    company_deletion_start,
)
from crm.models import CompanyDeletion, Tenant, User


class Command(BaseCommand):
    help = "Deletes a company with every row and file it stored (resumable; audited)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the company's short name")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--by", default="", help="who asked for it (recorded)")
        parser.add_argument("--chunk", type=int, default=CHUNK, help="rows per transaction")

    def handle(self, *args, slug, yes, by, chunk, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            done = CompanyDeletion.objects.filter(company_slug=slug).order_by("-started_at")
            if (last := done.first()) is not None and last.finished_at is not None:
                self.stdout.write(f"'{slug}' was deleted on {last.finished_at:%Y-%m-%d %H:%M}.")
                return
            raise CommandError(f"No company with the short name '{slug}'.")
        if not yes and tenant.deletion_started_at is None:
            self.stdout.write(
                f"This deletes '{tenant.name}' ({slug}) with all its contacts, history, "
                "members' access and files. It cannot be undone."
            )
            if input("Type the short name again to confirm: ").strip() != slug:
                raise CommandError("Not confirmed; nothing was deleted.")
        requested_by = User.objects.filter(username=by).first() if by else None
        deletion = company_deletion_start(
            tenant=tenant,
            requested_by=requested_by,
            source=SOURCE_COMMAND,
            label=by or "operator",
        )
        self.stdout.write(f"Deleting '{tenant.name}' ({slug}), record {deletion.pk}…")
        try:
            deletion = company_deletion_run(deletion=deletion, chunk=chunk)
        except DeletionBusy as error:
            raise CommandError("Another process is deleting this company right now.") from error
        rows = sum(n for table, n in deletion.counts.items() if table != "files")
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted '{deletion.company_name}' ({slug}): {rows} rows in "
                f"{len(deletion.counts)} tables, {deletion.counts.get('files', 0)} files, "
                f"{len(deletion.users_deleted)} accounts left without a company."
            )
        )
