"""What make loadtest runs on, made ready before anything starts, written to the JSON file the
load generator reads (`config`):

- the 1,000,000 contacts of make bench in 10 companies (generated the first time, as make
  bench generates them), and a pool of each company's contacts for the users to open, move,
  tag and log events on;
- the company the import goes into (`loadtest-import`), put back to its 100,000 contacts
  before every run, and the 100,000-row file (make bench's: one row in ten updates a contact
  already there);
- the 10,000 contacts of the big company the bulk move moves: tagged with a tag of their own,
  all active and in one stage, so that "all matching" is exactly them; each run moves them to
  the other of subscriber and lead (back with a reason, as an admin may). The pool leaves them
  out, so nobody else moves them meanwhile;
- API tokens (revoked afterwards) and logged-in sessions for the one-page runs.
"""

import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client

from bench.management.commands.bench_funnel import SIZES, bench_tenant
from bench.management.commands.bench_import import (
    HEADER,
    bench_file,
    import_tenant,
    import_tenant_reset,
    vacuum,
)
from crm.models import Contact, Membership, Tenant
from integrations.models import ApiToken
from integrations.services import api_token_create
from lifecycle.analytics import funnel_recompute
from spreadsheets.imports.reading import guess_mapping
from tagging.models import Tag, TagGroup
from tagging.services import contacts_bulk_tag, tag_create, tag_group_save

PASSWORD = "bench-only-password"  # noqa: S105 - make bench's members, on a local database
IMPORT_SLUG = "loadtest-import"
IMPORT_ROWS = IMPORT_EXISTING = 100_000
BULK_SIZE = 10_000
BULK_GROUP, BULK_TAG = "负载测试", "批量移动"
BULK_STAGES = ("subscriber", "lead")  # the set goes back and forth between these
POOL_BIG, POOL_SMALL = 3_000, 500  # contacts each user may pick, per company
API_EMAILS = 1_000  # the API upserts contacts by these emails only
SESSIONS = 8


@dataclass
class Plan:
    """What the run does, and what the checks afterwards compare with."""

    companies: list[tuple[Tenant, Membership]]
    import_tenant: Tenant
    import_content: bytes
    bulk_tag: Tag
    bulk_from: str
    bulk_to: str
    tokens: list[ApiToken] = field(default_factory=list)
    config: dict = field(default_factory=dict)


def bulk_set(tenant: Tenant, admin: Membership):
    """The tag marking the 10,000 and the stage they are all in, tagging them the first time
    (or again, should a run have left them otherwise)."""
    group = TagGroup.objects.for_tenant(tenant).filter(label=BULK_GROUP).first()
    if group is None:
        group = tag_group_save(tenant=tenant, actor=admin, label=BULK_GROUP)
    tag = Tag.objects.for_tenant(tenant).filter(group=group, label=BULK_TAG).first()
    if tag is None:
        tag = tag_create(tenant=tenant, actor=admin, group=group, label=BULK_TAG)
    tagged = Contact.objects.for_tenant(tenant).filter(contact_tags__tag=tag)
    found = list(tagged.values("stage", "status").annotate(n=Count("pk")))
    if (
        len(found) == 1
        and found[0]["n"] == BULK_SIZE
        and found[0]["status"] == "active"
        and found[0]["stage"] in BULK_STAGES
    ):
        return tag, found[0]["stage"]
    contacts_bulk_tag(tenant=tenant, actor=admin, contacts=tagged, tag=tag, add=False)
    # the first active subscribers generated (the API's upserts come later, with higher ids)
    chosen = (
        Contact.objects.for_tenant(tenant)
        .filter(status="active", stage=BULK_STAGES[0])
        .order_by("pk")
        .values_list("pk", flat=True)[:BULK_SIZE]
    )
    contacts_bulk_tag(tenant=tenant, actor=admin, contacts=list(chosen), tag=tag, add=True)
    return tag, BULK_STAGES[0]


def contact_pool(tenant: Tenant, size: int, *, leave_out: Tag) -> list[int]:
    """A random sample of the company's contacts, without the bulk move's."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id FROM crm_contact c WHERE tenant_id = %s AND NOT EXISTS (
                SELECT 1 FROM tagging_contacttag t
                WHERE t.contact_id = c.id AND t.tag_id = %s AND t.tenant_id = %s)
            ORDER BY random() LIMIT %s
            """,
            [tenant.pk, leave_out.pk, tenant.pk, size],
        )
        return [row[0] for row in cursor.fetchall()]


def session_for(membership: Membership) -> str:
    """A logged-in session, made without the login form (whose password hash is slow on
    purpose): the one-page runs measure the page, not the login."""
    client = Client()
    axes = logging.getLogger("axes")  # says so at INFO for every login
    level = axes.level
    axes.setLevel(logging.WARNING)
    try:
        client.force_login(membership.user)
    finally:
        axes.setLevel(level)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def prepare(run_dir: Path, *, host: str, bulk_after: float, say) -> Plan:
    companies = [bench_tenant(i, n, say=say) for i, n in enumerate(SIZES)]
    (big, admin), (second, second_admin) = companies[0], companies[1]

    say("  the import's company: back to its 100,000 contacts, tables vacuumed …")
    target, _importer = import_tenant(IMPORT_SLUG)
    import_tenant_reset(target, IMPORT_EXISTING)
    funnel_recompute(tenant=target)
    vacuum()
    content = bench_file(IMPORT_ROWS, IMPORT_EXISTING)
    (run_dir / "import.csv").write_bytes(content)

    tag, at = bulk_set(big, admin)
    plan = Plan(companies=companies, import_tenant=target, import_content=content, bulk_tag=tag,
                bulk_from=at, bulk_to=BULK_STAGES[1 - BULK_STAGES.index(at)])  # fmt: skip

    pools = {
        tenant.pk: contact_pool(tenant, POOL_BIG if tenant == big else POOL_SMALL, leave_out=tag)
        for tenant, _admin in companies
    }
    tokens = []
    for tenant, member in ((big, admin), (second, second_admin)):
        row, secret = api_token_create(tenant=tenant, actor=None, membership=member,
                                       name="make loadtest")  # fmt: skip
        plan.tokens.append(row)
        tokens.append({"token": secret, "contacts": pools[tenant.pk]})
    first_tag = Tag.objects.for_tenant(big).exclude(group__label=BULK_GROUP).order_by("pk").first()
    big_base = f"/t/{big.slug}"
    rng = random.Random("make loadtest")  # noqa: S311 - the same search terms every run
    plan.config = {
        "host": host,
        "password": PASSWORD,
        "companies": [
            {
                "slug": tenant.slug,
                "username": member.user.username,
                "contacts": pools[tenant.pk],
                "tags": list(
                    Tag.objects.for_tenant(tenant)
                    .exclude(group__label=BULK_GROUP)
                    .values_list("pk", flat=True)
                ),
            }
            for tenant, member in companies
        ],
        "api": tokens,
        "api_emails": API_EMAILS,
        "import": {
            "slug": target.slug,
            "username": f"{IMPORT_SLUG}-marketer",
            "file": str(run_dir / "import.csv"),
            "mapping": guess_mapping(HEADER),
        },
        "bulk": {
            "slug": big.slug,
            "username": admin.user.username,
            "tag": tag.pk,
            "from": plan.bulk_from,
            "to": plan.bulk_to,
            "after": bulk_after,
        },
        # the one-page runs: each on the big company, as its admin
        "pages": {
            "dashboard": {"url": f"{big_base}/", "session": True},
            "list": {"url": f"{big_base}/contacts/", "session": True},
            "list, stage + tag": {
                "url": f"{big_base}/contacts/?stage=sql&tag_any={first_tag.pk}",
                "session": True,
            },
            "contact page": {
                "url": f"{big_base}/contacts/{{pick}}/",
                "session": True,
                "picks": pools[big.pk],
            },
            "board": {"url": f"{big_base}/board/", "session": True},
            "api list": {"url": "/api/v1/contacts", "token": tokens[0]["token"]},
            # the start of a name (客户1234: 111 people) or of a phone (100001234: 100)
            "search": {
                "url": f"{big_base}/contacts/?q={{pick}}",
                "session": True,
                "picks": [f"客户{n}" for n in rng.sample(range(1000, 6000), 50)]
                + [f"100001{n}" for n in rng.sample(range(100, 1000), 50)],
            },
            "login page": {"url": "/accounts/login/"},
        },
        "sessions": [session_for(admin) for _ in range(SESSIONS)],
    }
    (run_dir / "config.json").write_text(json.dumps(plan.config, ensure_ascii=False, indent=1))
    return plan
