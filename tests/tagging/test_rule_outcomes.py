"""What a rule did for an event is stored in one shape, whoever records it, and the contact page
reads every entry it meets: today's codes, older sentences rewritten by a migration, and anything
else shown as it is."""

import importlib
import io
import logging

from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from crm.models import Tenant
from tagging.models import Event, Rule
from tagging.outcomes import describe, rule_title_key
from tests.conftest import client_for
from tests.factories import ContactFactory

outcome_migration = importlib.import_module("tagging.migrations.0009_rule_outcomes_as_codes")


def test_the_demo_records_rule_outcomes_as_the_rules_service_does(db, caplog):
    call_command("seed_demo", stdout=io.StringIO())
    school = Tenant.objects.get(slug="english-school")
    events = Event.objects.for_tenant(school).exclude(outcome=[])
    rules = {r.pk: r for r in Rule.objects.for_tenant(school)}

    assert events.count() > 100
    for event in events:
        (result,) = event.outcome
        rule = rules[result["rule"]]
        expected = [{"moved": rule.to_stage}] if rule.to_stage else [{"tagged": "活动参与者"}]
        # a built-in rule (no name of its own) is also named by its key, read in the reader's words
        named_by_key = set() if rule.name else {"title_key"}
        assert (set(result), result["done"], result["why"]) == (
            {"rule", "name", "done", "why"} | named_by_key,
            expected,
            [],
        )
        assert result.get("title_key") == rule_title_key(rule)
    with caplog.at_level(logging.WARNING, logger="tagging.outcomes"):
        for event in events:
            describe(event.outcome, {})
    assert caplog.records == []


def test_an_outcome_the_page_does_not_understand_is_shown_plainly_and_logged(tenant, sales, caplog):
    contact = ContactFactory(tenant=tenant)
    Event.objects.create(
        tenant=tenant, contact=contact, kind="consultation_call", actor=sales,
        outcome=[{"rule": 999, "name": "老规则", "done": ["某个旧说法", {"weird": 1}],
                  "why": ["旧原因"]}, "不是字典"],
    )  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="tagging.outcomes"):
        response = client_for(sales).get(reverse("contact_detail", args=[tenant.slug, contact.pk]))

    assert response.status_code == 200
    for shown in ("老规则", "某个旧说法", "weird: 1", "旧原因", "不是字典"):
        assert shown in response.content.decode()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) >= 4


def test_older_sentences_are_rewritten_as_codes_by_the_migration(tenant, sales):
    contact = ContactFactory(tenant=tenant)
    to_sql = Rule.objects.create(tenant=tenant, event_kind="consultation_call", to_stage="sql")
    tagging = Rule.objects.create(tenant=tenant, event_kind="event_attended")

    def event(outcome):
        return Event.objects.create(
            tenant=tenant, contact=contact, kind="consultation_call", outcome=outcome
        )

    demo_move = event([{"rule": to_sql.pk, "name": "咨询", "done": ["已移动"], "why": []}])
    demo_tag = event([{"rule": tagging.pk, "name": "活动", "done": ["已添加“活动参与者”"],
                       "why": []}])  # fmt: skip
    english = event([{"rule": to_sql.pk, "name": "call", "why": [
        "not moved: rules never move a contact back"], "done": [
        "moved to “SQL”", "tagged “VIP”", "untagged “Cold”"]}])  # fmt: skip
    chinese = event([{"rule": tagging.pk, "name": "活动", "why": ["已处于此阶段"],
                      "done": ["已添加标签“高意向”", "已移除标签“低意向”"]}])  # fmt: skip
    unknown = event([{"rule": 12345, "name": "已删除", "done": ["已移动", "手写的"], "why": ["?"]}])
    today = event([{"rule": to_sql.pk, "name": "咨询", "done": [{"moved": "sql"}], "why": []}])

    outcome_migration.forwards(apps, None)

    def stored(e):
        e.refresh_from_db()
        return [(r["done"], r["why"]) for r in e.outcome]

    assert stored(demo_move) == [([{"moved": "sql"}], [])]
    assert stored(demo_tag) == [([{"tagged": "活动参与者"}], [])]
    assert stored(english) == [
        (
            [{"moved": "sql"}, {"tagged": "VIP"}, {"untagged": "Cold"}],
            [{"code": "backward_not_allowed"}],
        )
    ]
    assert stored(chinese) == [
        ([{"tagged": "高意向"}, {"untagged": "低意向"}], [{"code": "same_stage"}])
    ]
    # a move whose rule is gone cannot say where it went: kept as written, shown plainly
    assert stored(unknown) == [(["已移动", "手写的"], ["?"])]
    assert stored(today) == [([{"moved": "sql"}], [])]
    assert [r["name"] for r in english.outcome] == ["call"]
