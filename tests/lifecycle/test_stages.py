"""The seven stages and the one transition table every move obeys."""

import re
from itertools import product
from pathlib import Path

import pytest
from django.conf import settings

from lifecycle.stages import (
    ORDER,
    Channel,
    Stage,
    bulk_targets,
    is_forward,
    may_correct,
    may_move,
    moves_for,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_funnel_has_seven_stages_in_order():
    assert ORDER == ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")
    assert list(Stage) == list(ORDER)


@pytest.mark.parametrize("from_stage, to_stage", list(product(ORDER, ORDER)))
def test_every_pair_of_stages_follows_the_table(from_stage, to_stage):
    forward = ORDER.index(to_stage) > ORDER.index(from_stage)
    assert is_forward(from_stage, to_stage) == forward
    for role in ("admin", "marketer", "sales", None):
        for channel in Channel.values:
            allowed = may_move(role=role, channel=channel, from_stage=from_stage, to_stage=to_stage)
            if from_stage == to_stage:
                expected = False
            elif forward:
                expected = True  # forward, skipping allowed, for everyone and every channel
            else:  # backward: a member, admin or sales, at a screen or with their API token
                expected = role in ("admin", "sales") and channel in ("ui", "bulk", "api")
            assert allowed == expected, (role, channel, from_stage, to_stage)


def test_rules_and_imports_never_move_backward_or_mark_lost():
    for channel in (Channel.RULE, Channel.IMPORT):
        assert not may_move(role="admin", channel=channel, from_stage="customer", to_stage="lead")
        assert not may_correct(role="admin", channel=channel)


def test_the_api_moves_backward_only_with_an_admin_or_sales_token_and_never_marks_lost():
    for role in ("admin", "sales"):
        assert may_move(role=role, channel=Channel.API, from_stage="customer", to_stage="lead")
    for role in ("marketer", None):
        assert not may_move(role=role, channel=Channel.API, from_stage="customer", to_stage="lead")
    assert not may_correct(role="admin", channel=Channel.API)


def test_the_move_menu_comes_from_the_table():
    assert moves_for(role="marketer", from_stage="mql") == [
        ("sql", True),
        ("opportunity", True),
        ("customer", True),
        ("evangelist", True),
    ]
    sales_moves = moves_for(role="sales", from_stage="mql")
    assert ("lead", False) in sales_moves and ("subscriber", False) in sales_moves
    assert ("mql", True) not in sales_moves and ("mql", False) not in sales_moves


def test_nothing_but_the_lifecycle_service_writes_the_stage():
    # the funnel fields of contacts (other models may have a status of their own)
    pattern = re.compile(r"\.update\([^)]*\bstage\s*=|Contact\b[^\n]*\.update\([^)]*\bstatus\s*=")
    offenders = [
        path.relative_to(ROOT).as_posix()
        for app in settings.OUR_APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []
    # the bulk path writes the stage in SQL, which the pattern above cannot see
    assert "UPDATE crm_contact c SET" in (ROOT / "lifecycle/bulk_moves.py").read_text()


def test_a_bulk_move_offers_a_marketer_only_stages_forward_of_the_list():
    assert bulk_targets(role="marketer") == list(ORDER[1:])
    assert bulk_targets(role="marketer", from_stage="sql") == ["opportunity", "customer",
                                                                "evangelist"]  # fmt: skip
    assert bulk_targets(role="marketer", from_stage="evangelist") == []
    assert bulk_targets(role="sales") == list(ORDER)
    assert bulk_targets(role="admin", from_stage="sql") == [s for s in ORDER if s != "sql"]
    assert bulk_targets(role=None, from_stage="not-a-stage") == list(ORDER[1:])
