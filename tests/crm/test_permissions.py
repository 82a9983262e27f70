"""The role matrix is stated once, in crm/permissions.py, and matches DESIGN.md's table."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template import Context, Template

from crm import permissions
from crm.models import Role
from crm.permissions import CAPABILITIES, MATRIX, can_undo_import

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT.parent / "shared" / "DESIGN.md"

# Where a role may be spelt out: the matrix, the model, tests and migrations (data).
ALLOWED = {"crm/permissions.py", "crm/models.py"}
# Files that name a role as data, not as a check (a company's first member is its admin, and
# it always keeps one; demo and benchmark members). They still may not compare roles.
ROLE_AS_DATA = {
    "crm/tenancy.py",
    "crm/selectors.py",
    "demo/management/commands/seed_demo.py",
    "bench/management/commands/bench_bulk_move.py",
    "bench/management/commands/bench_funnel.py",
    "bench/management/commands/bench_import.py",
}
ROLE_KEY = r"(?:admin|marketer|sales)"
PYTHON_CHECKS = [
    re.compile(r"\brole\s*(?:==|!=)\s*(?:[\"']|Role\.)"),  # role == "admin", role != Role.SALES
    re.compile(rf"(?:[\"']{ROLE_KEY}[\"']|Role\.\w+)\s*(?:==|!=)"),  # "admin" == role
    re.compile(r"\brole\s+(?:not\s+)?in\s+(?!Role\.values)"),  # role in (...), role not in X
    re.compile(r"\brole_required\("),
    re.compile(r"\b\w+_ROLES\b"),  # a set of roles named in place
    re.compile(r"\bis_admin\b"),
    re.compile(rf"[\"']{ROLE_KEY}[\"']"),  # a role's key written out
]
ROLE_MEMBER = re.compile(r"\bRole\.(?:ADMIN|MARKETER|SALES)\b")
TEMPLATE_CHECKS = [
    re.compile(r"\brole\s*(?:==|!=)\s*[\"']"),
    re.compile(r"\brole\s+(?:not\s+)?in\b"),
    re.compile(r"\bis_admin\b"),
    re.compile(rf"[\"']{ROLE_KEY}[\"']"),
]


def _sources():
    for app in settings.OUR_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, PYTHON_CHECKS
    for path in sorted((ROOT / "templates").rglob("*.html")):
        yield path, TEMPLATE_CHECKS


def test_no_role_is_checked_outside_the_permissions_module():
    """Services, views, the API and templates ask crm.permissions; none compares roles itself."""
    offenders = []
    for path, checks in _sources():
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue  # a comment may say "role in the school"
            found = any(check.search(line) for check in checks)
            found = found or (name not in ROLE_AS_DATA and ROLE_MEMBER.search(line))
            if found:
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "check roles through crm/permissions.py:\n" + "\n".join(offenders)


def test_the_guard_would_catch_the_old_spellings():
    for line in (
        'if actor.role not in ("admin", "marketer"):',
        "if actor.role != Role.ADMIN:",
        "@role_required(*SCHEME)",
        "AUDIENCE_ROLES = (Role.ADMIN, Role.MARKETER)",
        '"may_correct": role in ("admin", "sales"),',
    ):
        assert any(check.search(line) for check in PYTHON_CHECKS), line
    for line in ('{% if current_membership.role != "sales" %}', "{% if m.is_admin %}"):
        assert any(check.search(line) for check in TEMPLATE_CHECKS), line
    assert not any(check.search("if role not in Role.values:") for check in PYTHON_CHECKS)


def test_the_matrix_names_only_known_roles_and_every_capability_has_a_function():
    for roles in MATRIX.values():
        assert roles <= set(Role.values)
    assert set(CAPABILITIES) == set(MATRIX) - {"undo_any_import"}
    for name, function in CAPABILITIES.items():
        assert function is getattr(permissions, f"can_{name}")
        for role in Role.values:
            member = SimpleNamespace(pk=1, role=role)
            assert function(member) == (role in MATRIX[name]), (name, role)
        assert function(None) is False


def test_an_admin_undoes_any_import_a_marketer_their_own_and_sales_none():
    admin, marketer, sales = (SimpleNamespace(pk=pk, role=r) for pk, r in enumerate(Role.values))
    for author in (admin, marketer, sales):
        job = SimpleNamespace(created_by_id=author.pk)
        assert can_undo_import(admin, job)
        assert can_undo_import(marketer, job) == (author is marketer)
        assert not can_undo_import(sales, job)
        assert not can_undo_import(None, job)


def test_templates_ask_by_capability_name_and_a_misspelt_one_fails_loudly():
    template = Template('{% load permissions %}{% if m|can:"import" %}yes{% else %}no{% endif %}')
    assert template.render(Context({"m": SimpleNamespace(pk=1, role=Role.MARKETER)})) == "yes"
    assert template.render(Context({"m": SimpleNamespace(pk=1, role=Role.SALES)})) == "no"
    assert template.render(Context({"m": None})) == "no"
    with pytest.raises(KeyError):
        Template('{% load permissions %}{{ m|can:"imprt" }}').render(Context({"m": None}))


# DESIGN.md's rows, by their action, and the capabilities each covers. Rows every role may do
# cover none: nothing in the code refuses them, and the test checks DESIGN still says "yes".
DESIGN_ROWS = {
    "see contacts, dashboard, board": (),
    "create/edit contacts, log events, activities, tasks": (),
    "move forward": (),
    "move backward, mark lost/reopen": ("move_backward", "mark_lost"),
    "tags, audiences, import/export": ("edit_tag_scheme", "manage_audiences", "import", "export"),
    "merge contacts": ("merge", "merge_any"),
    "delete contacts, erase a person": ("delete_contacts", "answer_data_requests"),
    "stage labels, rules, tiers, custom fields, members, tokens, webhooks, audit log": (
        "edit_company_settings",
        "edit_stage_settings",
        "edit_rules",
        "edit_custom_fields",
        "manage_members",
        "manage_api",
        "view_audit_log",
    ),
    "team figures of every member": ("view_team",),
    "saved views shared with the company": ("share_saved_views",),
    "record consent granted (withdrawn: every member)": ("grant_consent",),
}
# Rows DESIGN.md does not hold yet, as they are to read there: the file is read-only to the
# session that added the capability. Once DESIGN has the row, its own cells are checked and
# the entry here can go.
PROPOSED_ROWS = {
    "team figures of every member": {"admin": "yes", "marketer": "yes", "sales": "own only"},
    # every member keeps private views (no capability); sharing one is admins' and marketers'
    "saved views shared with the company": {"admin": "yes", "marketer": "yes", "sales": "no"},
    # recording a grant is marketing's (it lets the company market to the person); every
    # member records a withdrawal (no capability)
    "record consent granted (withdrawn: every member)": {
        "admin": "yes",
        "marketer": "yes",
        "sales": "no",
    },
}
# Cells that are neither "yes" nor "no": which of the row's capabilities the role has.
# Sales' "tags only" is tagging contacts, which every member may (no capability); the tag
# scheme, like audiences and imports, is admins' and marketers'. "own only": a member without
# the capability sees their own figures, which needs none.
QUALIFIED = {"tags only": set(), "likely duplicates only": {"merge"}, "own only": set()}
# Finer than the table goes: (capability, the broader one it narrows).
FINER = {"undo_any_import": "import", "manage_shared_views": "share_saved_views"}


def _design_table() -> dict[str, dict[str, str]]:
    if not DESIGN.exists():
        pytest.skip(f"{DESIGN} is not beside this checkout")
    section = DESIGN.read_text().split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[0] == "action"
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        table[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    for action, cells in PROPOSED_ROWS.items():
        table.setdefault(action, cells)
    return table


def test_the_matrix_matches_designs_role_table():
    """DESIGN.md's "Roles" table is parsed as it stands (a Markdown table: an action per row,
    "yes"/"no" or a qualified word per role) and every row is checked against MATRIX through
    DESIGN_ROWS. A qualified cell is read through QUALIFIED; a capability finer than the table
    (an admin undoes anyone's import, others only their own) must stay within the broader one.
    A capability DESIGN does not place, or a row this test cannot read, fails the test."""
    table = _design_table()
    assert set(table) == set(DESIGN_ROWS)
    for action, cells in table.items():
        assert set(cells) == set(Role.values), action
        covered = DESIGN_ROWS[action]
        for role, cell in cells.items():
            if not covered:
                assert cell == "yes", (action, role, cell)
                continue
            granted = {"yes": set(covered), "no": set()}.get(cell, QUALIFIED.get(cell))
            assert granted is not None, f"unknown cell {cell!r} in {action!r}"
            for capability in covered:
                assert (role in MATRIX[capability]) == (capability in granted), (
                    action,
                    role,
                    capability,
                )
    placed = {c for covered in DESIGN_ROWS.values() for c in covered}
    assert set(MATRIX) == placed | set(FINER)
    for capability, broader in FINER.items():
        assert MATRIX[capability] <= MATRIX[broader]
