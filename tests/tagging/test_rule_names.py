"""A rule has one name, in the reader's language, wherever it appears: the built-in rules every
company gets are named by what they are made of ("Paid → Customer" / "已付款 → 付费客户"); a
rule the company named keeps its name. The history keeps the title as it read when the rule ran,
and the key, so an English reader of a Chinese company no longer meets Chinese there."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from crm.models import AuditEntry, AuditKind
from demo import tags as demo
from lifecycle.models import StageChange, StageSetting
from tagging.models import ContactTag, Event, Rule, Tag, TagGroup
from tagging.rules import event_log, rule_delete, rule_save, rules_ensure_defaults
from tests.conftest import client_for
from tests.factories import ContactFactory

keyed = importlib.import_module("tagging.migrations.0017_rule_titles_by_key")


@pytest.fixture
def built_in(tenant):
    rules_ensure_defaults(tenant=tenant)
    return Rule.objects.for_tenant(tenant).get(event_kind="consultation_call")


def reads(member, language: str) -> None:
    member.user.language = language
    member.user.save(update_fields=["language"])


def page(member, contact, language: str) -> str:
    reads(member, language)
    url = reverse("contact_detail", args=[contact.tenant.slug, contact.pk])
    return client_for(member).get(url).content.decode()


def test_a_built_in_rule_reads_in_the_readers_language_in_the_history(tenant, sales, built_in):
    contact = ContactFactory(tenant=tenant)
    event_log(contact=contact, actor=sales, kind="consultation_call")

    english = page(sales, contact, "en")
    assert "Rule: Called to ask about courses → Sales qualified lead" in english  # the move
    assert "Called to ask about courses → Sales qualified lead: moved to" in english  # the event
    assert "来电咨询课程" not in english

    chinese = page(sales, contact, "zh-hans")
    assert "规则：来电咨询课程 → 销售合格" in chinese
    assert "来电咨询课程 → 销售合格：已移动到“销售合格”" in chinese
    assert "Called to ask" not in chinese


def test_the_companys_own_stage_label_names_the_built_in_rule(tenant, sales, built_in):
    StageSetting.objects.update_or_create(tenant=tenant, stage="sql", defaults={"label": "意向强"})
    contact = ContactFactory(tenant=tenant)
    event_log(contact=contact, actor=sales, kind="consultation_call")
    assert "Rule: Called to ask about courses → 意向强" in page(sales, contact, "en")


def test_a_rule_the_company_named_keeps_its_name_for_every_reader(tenant, admin, sales):
    group = TagGroup.objects.create(tenant=tenant, key="intent", label="意向")
    hot = Tag.objects.create(
        tenant=tenant, group=group, key="hot", label="高意向", label_key="高意向"
    )
    rule = rule_save(tenant=tenant, actor=admin, name="试听后跟进", event_kind="trial_booked",
                     to_stage="mql", add_tags=[hot])  # fmt: skip
    contact = ContactFactory(tenant=tenant)
    event_log(contact=contact, actor=sales, kind="trial_booked")

    change = StageChange.objects.for_tenant(tenant).get(contact=contact)
    assert (change.actor_label, change.rule_kind) == ("试听后跟进", "")
    for language in ("en", "zh-hans"):
        html = page(sales, contact, language)
        assert "试听后跟进" in html
        assert "Booked a trial class → " not in html and "预约了体验课 → " not in html
    assert ContactTag.objects.for_tenant(tenant).get(contact=contact).rule == rule


def test_the_tag_a_built_in_rule_added_says_which_rule_in_the_readers_words(tenant, admin, sales):
    rules_ensure_defaults(tenant=tenant)
    group = TagGroup.objects.create(tenant=tenant, key="paid", label="付费")
    paid = Tag.objects.create(
        tenant=tenant, group=group, key="paid", label="已付", label_key="已付"
    )
    rule = Rule.objects.for_tenant(tenant).get(event_kind="payment_received")
    rule.add_tags.add(paid)
    contact = ContactFactory(tenant=tenant, stage="opportunity", expected_amount=100)
    event_log(contact=contact, actor=sales, kind="payment_received")

    assert "Added by rule: Paid → Customer" in page(sales, contact, "en")
    assert "由规则添加：已付款 → 付费客户" in page(sales, contact, "zh-hans")


def test_the_audit_log_names_a_built_in_rule_in_the_readers_words(tenant, admin, built_in):
    rule_save(tenant=tenant, actor=admin, rule=built_in, name="", event_kind="consultation_call",
              to_stage="sql", active=False)  # fmt: skip
    rule_delete(rule=built_in, actor=admin)
    stored = AuditEntry.objects.for_tenant(tenant).filter(
        kind__in=[AuditKind.RULE_SAVED, AuditKind.RULE_DELETED]
    )
    assert {entry.subject for entry in stored} == {"来电咨询课程 → 销售合格"}  # as it read

    reads(admin, "en")
    html = client_for(admin).get(reverse("audit_log", args=[tenant.slug])).content.decode()
    assert html.count("Called to ask about courses → Sales qualified lead") == 2
    assert "来电咨询课程" not in html
    csv = b"".join(
        client_for(admin).get(reverse("audit_export", args=[tenant.slug])).streaming_content
    ).decode("utf-8-sig")
    assert csv.count("Called to ask about courses → Sales qualified lead") == 2


def test_the_migration_keys_the_history_built_in_rules_wrote(tenant, sales, built_in):
    """Rows written before the key existed: recognised by their title in either language."""
    named = Rule.objects.create(tenant=tenant, name="已付款 → 付费客户", event_kind="paid_x")
    contact = ContactFactory(tenant=tenant)
    event = Event.objects.create(
        tenant=tenant, contact=contact, kind="consultation_call",
        outcome=[{"rule": built_in.pk, "name": "来电咨询课程 → 销售合格",
                  "done": [{"moved": "sql"}], "why": []},
                 {"rule": named.pk, "name": "已付款 → 付费客户", "done": [], "why": []},
                 {"rule": 999, "name": "Said they will pay → Opportunity", "done": [], "why": []},
                 {"rule": 998, "name": "旧规则", "done": [], "why": []}],
    )  # fmt: skip
    moves = [
        StageChange.objects.create(tenant=tenant, contact=contact, from_stage="subscriber",
                                   to_stage=to, to_status="active", channel="rule",
                                   actor_label=label)
        for to, label in [("sql", "来电咨询课程 → 销售合格"), ("mql", "来电咨询课程 → 销售合格"),
                          ("lead", "Submitted the form → Lead"), ("lead", "旧规则")]
    ]  # fmt: skip

    keyed.forwards(apps, None)

    event.refresh_from_db()
    assert [result.get("title_key") for result in event.outcome] == [
        {"kind": "consultation_call", "to": "sql"},
        None,  # the company named that rule
        {"kind": "payment_intent", "to": "opportunity"},
        None,  # nothing to recognise: shown as it reads
    ]
    assert [result["name"] for result in event.outcome][0] == "来电咨询课程 → 销售合格"
    kinds = [StageChange.objects.get(pk=m.pk).rule_kind for m in moves]
    # a title whose stage is not the row's own is not this rule's: left alone
    assert kinds == ["consultation_call", "", "form_submitted", ""]
    assert StageChange.objects.get(pk=moves[0].pk).actor_label == "来电咨询课程 → 销售合格"


def test_the_demos_history_names_its_built_in_rules_in_the_readers_words(tenant, admin, sales):
    """seed_demo writes the rules' doing as the rules service does, key included."""
    rules_ensure_defaults(tenant=tenant)
    contacts = ContactFactory.create_batch(8, tenant=tenant, owner=sales)
    for contact in contacts:
        StageChange.objects.create(
            tenant=tenant, contact=contact, from_stage="subscriber", to_stage="sql",
            to_status="active", channel="ui", actor=sales,
        )  # fmt: skip
    demo.seed_activity(tenant, [c.pk for c in contacts], demo.seed_tag_scheme(tenant, admin))

    by_rules = StageChange.objects.for_tenant(tenant).filter(channel="rule")
    assert by_rules.exists()  # most forward moves are the rules' doing in the demo
    assert {move.rule_kind for move in by_rules} == {"consultation_call"}
    contact = by_rules.first().contact
    assert "Rule: Called to ask about courses → Sales qualified lead" in page(sales, contact, "en")
