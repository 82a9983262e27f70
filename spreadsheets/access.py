from crm.access import get_scoped_or_404
from crm.models import Membership

from .models import ImportJob


def access_import(membership: Membership, job_id: int) -> ImportJob:
    return get_scoped_or_404(ImportJob.objects.for_tenant(membership.tenant), job_id)
