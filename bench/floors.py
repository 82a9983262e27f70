"""The floors make bench compares pages with: the same rows a page shows, fetched with one plain
SQL query and written as HTML by hand (no template engine, no ORM, no logic of ours) into the
real page's own layout, taken once from the page itself. Only the part that changes per request
is written per request; everything around it is a constant string. A floor goes through the same
middleware (session, login, company, language) as the page, so the two differ only in what the
page itself costs."""

from html import escape

from django.db import connection
from django.http import HttpResponse

from lifecycle.stages import ORDER

# The dashboard's figures, in one statement: stored counts, statistics, 30 days of trend.
BARE_FIGURES = """
SELECT (SELECT json_agg(json_build_array(stage, status, count))
          FROM lifecycle_funnelcount WHERE tenant_id = %(t)s),
       (SELECT data FROM lifecycle_funnelstats WHERE tenant_id = %(t)s),
       (SELECT json_agg(json_build_array(day, stage, active) ORDER BY day)
          FROM lifecycle_funnelsnapshot WHERE tenant_id = %(t)s AND day >= current_date - 30)
"""

# The contact list's first page (newest first) with each row's owner and tags, in one statement.
BARE_LIST = """
SELECT c.id, c.name, c.stage, c.status, c.stage_entered_at, c.company, c.phone, c.email,
       c.wechat_id, u.username,
       (SELECT array_agg(t.label ORDER BY t.label) FROM tagging_contacttag ct
          JOIN tagging_tag t ON t.id = ct.tag_id
         WHERE ct.tenant_id = c.tenant_id AND ct.contact_id = c.id)
FROM crm_contact c
LEFT JOIN crm_membership m ON m.id = c.owner_id
LEFT JOIN crm_user u ON u.id = m.user_id
WHERE c.tenant_id = %(t)s {where}
ORDER BY c.created_at DESC, c.id DESC
LIMIT 50
"""

# The board: each stage's 20 latest active arrivals, with their owner, in one statement.
BARE_BOARD = """
SELECT s.stage, c.id, c.name, c.stage_version, c.stage_entered_at, u.username
FROM unnest(%(stages)s::text[]) AS s(stage)
CROSS JOIN LATERAL (
    SELECT id, name, stage_version, stage_entered_at, owner_id FROM crm_contact
    WHERE tenant_id = %(t)s AND status = 'active' AND stage = s.stage
    ORDER BY stage_entered_at DESC, id DESC LIMIT 20) c
LEFT JOIN crm_membership m ON m.id = c.owner_id
LEFT JOIN crm_user u ON u.id = m.user_id
"""


def _around(page: str, start: str, end: str) -> tuple[str, str]:
    """The page before `start` and from `end` on: what a floor keeps as it is."""
    return page[: page.index(start)], page[page.index(end, page.index(start)) :]


def bare_dashboard(tenant, page: str):
    before, after = _around(page, "<main", "</main>")

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute(BARE_FIGURES, {"t": tenant.pk})
            counts, stats, trend = cursor.fetchone()
        rows = "".join(
            f"<tr><td>{escape(stage)}</td><td>{escape(status)}</td><td>{count}</td></tr>"
            for stage, status, count in counts or []
        )
        days = "".join(
            f"<li>{day} {escape(stage)} {active}</li>" for day, stage, active in trend or []
        )
        main = f"<main><table>{rows}</table><pre>{escape(str(stats))}</pre><ul>{days}</ul>"
        return HttpResponse(before + main + after)

    return view


def bare_list(tenant, page: str, *, stage: str = "", tag_id: int | None = None):
    """The list's rows (optionally one stage and holding one tag, as the page's filter)."""
    before, after = _around(page, "<tbody>", "</tbody>")
    where = (" AND %(stage)s = c.stage" if stage else "") + (  # noqa: S608 - constants
        " AND EXISTS (SELECT 1 FROM tagging_contacttag x WHERE x.tenant_id = c.tenant_id"
        " AND x.contact_id = c.id AND x.tag_id = %(tag)s)" if tag_id is not None else ""
    )  # fmt: skip
    statement = BARE_LIST.format(where=where)  # our own constants; values are parameters
    base = f"/t/{tenant.slug}/contacts/"

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute(statement, {"t": tenant.pk, "stage": stage, "tag": tag_id})
            found = cursor.fetchall()
        rows = "".join(
            f'<tr><td><input type="checkbox" name="ids" value="{pk}" form="bulk-form"'
            f' aria-label="Select {escape(name)}"></td><td><a href="{base}{pk}/">{escape(name)}'
            f'</a></td><td><span class="stage" data-stage="{row_stage}">{row_stage}</span>'
            f"{' lost' if status == 'lost' else ''}</td><td>{since:%Y-%m-%d}</td>"
            f"<td>{escape(company)}</td><td>{escape(phone)}</td><td>"
            + "".join(f'<span class="badge">{escape(label)}</span> ' for label in tags or ())
            + f"</td><td>{escape(email)}</td><td>{escape(wechat)}</td><td>{escape(owner or '')}"
            "</td></tr>"
            for (pk, name, row_stage, status, since, company, phone, email, wechat, owner,
                 tags) in found
        )  # fmt: skip
        return HttpResponse(before + "<tbody>" + rows + after)

    return view


def bare_board(tenant, page: str):
    """The seven columns' cards, each with its move menu (a button for every stage)."""
    before, after = _around(page, '<div class="board" data-board>', "</main>")
    base = f"/t/{tenant.slug}/contacts/"

    def view(request):
        with connection.cursor() as cursor:
            cursor.execute(BARE_BOARD, {"t": tenant.pk, "stages": list(ORDER)})
            found = cursor.fetchall()
        columns: dict[str, list[str]] = {stage: [] for stage in ORDER}
        for stage, pk, name, version, entered, owner in found:
            columns[stage].append(
                f'<article class="board-card" id="card-{pk}" draggable="true" tabindex="-1"'
                f' data-move-url="{base}{pk}/move/" data-version="{version}"'
                f' data-stage="{stage}"><a class="card-name" href="{base}{pk}/">{escape(name)}'
                f'</a><div class="card-meta">{escape(owner or "")} · {entered:%Y-%m-%d}</div>'
                f'<details class="move-menu"><summary>Move to…</summary><form method="post"'
                f' action="{base}{pk}/move/"><input type="hidden" name="version"'
                f' value="{version}">'
                + "".join(f'<button name="to_stage" value="{to}">{to}</button>' for to in ORDER)
                + "</form></details></article>"
            )
        board = "".join(
            f'<section class="column"><h2>{stage}</h2><div class="cards" id="cards-{stage}">'
            + "".join(cards)
            + "</div></section>"
            for stage, cards in columns.items()
        )
        return HttpResponse(before + '<div class="board" data-board>' + board + "</div>" + after)

    return view
