"""History written by a rule without a name of its own (the built-in ones) kept only its title,
"what happens → stage", in the company's language: an English reader saw it in Chinese. The
rows get the key the title is made of (an event outcome's `title_key`, a stage change's
`rule_kind`), so pages say it in the reader's words; the stored title itself stays as it read.

A title is recognised by the words it could have been written in: the built-in kinds and stages
in Chinese and English as this version says them, the company's own kinds and stage labels. A
title nothing matches (labels renamed since, a rule the company named) is left as it is."""

from django.db import migrations

KINDS = {
    "form_submitted": ("填写了表单", "Submitted the form"),
    "price_list_downloaded": ("领取了价格表", "Downloaded the price list"),
    "trial_booked": ("预约了体验课", "Booked a trial class"),
    "consultation_call": ("来电咨询课程", "Called to ask about courses"),
    "payment_intent": ("表示即将付款", "Said they will pay"),
    "payment_received": ("已付款", "Paid"),
    "referral_joined": ("加入了推荐计划", "Joined the referral programme"),
    "event_attended": ("参加了活动", "Attended an event"),
}
STAGES = {
    "subscriber": ("围观者", "Subscriber"),
    "lead": ("潜在客户", "Lead"),
    "mql": ("营销合格", "Marketing qualified lead"),
    "sql": ("销售合格", "Sales qualified lead"),
    "opportunity": ("待付费", "Opportunity"),
    "customer": ("付费客户", "Customer"),
    "evangelist": ("口碑客户", "Evangelist"),
}


def titles_of(kinds: dict, stages: dict) -> dict:
    """Every title a rule without a name could have had -> its key. `kinds` and `stages` map
    keys to the words each could be said in."""
    titles = {}
    for kind, kind_words in kinds.items():
        for kind_word in kind_words:
            titles.setdefault(kind_word, {"kind": kind, "to": ""})
            for stage, stage_words in stages.items():
                for stage_word in stage_words:
                    titles.setdefault(f"{kind_word} → {stage_word}", {"kind": kind, "to": stage})
    return titles


def tenant_titles(apps, tenant_id: int) -> dict:
    EventKind = apps.get_model("tagging", "EventKind")
    StageSetting = apps.get_model("lifecycle", "StageSetting")
    kinds = {key: set(words) for key, words in KINDS.items()}
    for key, label in EventKind.objects.filter(tenant_id=tenant_id).values_list("key", "label"):
        kinds.setdefault(key, set()).add(label)
    stages = {key: set(words) for key, words in STAGES.items()}
    for stage, label in StageSetting.objects.filter(tenant_id=tenant_id).values_list(
        "stage", "label"
    ):
        if label:
            stages.setdefault(stage, set()).add(label)
    return titles_of(kinds, stages)


def outcome_keyed(outcome, titles: dict, named: set) -> list | None:
    """The outcome with each unnamed rule's title_key; None when nothing changes."""
    if not isinstance(outcome, list):
        return None
    changed, keyed = False, []
    for result in outcome:
        if (
            isinstance(result, dict)
            and "title_key" not in result
            and result.get("rule") not in named
            and result.get("name") in titles
        ):
            result = {**result, "title_key": titles[result["name"]]}
            changed = True
        keyed.append(result)
    return keyed if changed else None


def forwards(apps, schema_editor):
    Tenant = apps.get_model("crm", "Tenant")
    Rule = apps.get_model("tagging", "Rule")
    Event = apps.get_model("tagging", "Event")
    StageChange = apps.get_model("lifecycle", "StageChange")
    for tenant_id in Tenant.objects.values_list("pk", flat=True).order_by("pk"):
        titles = tenant_titles(apps, tenant_id)
        # a rule the company named keeps its name, even one that reads like a title
        named = set(Rule.objects.filter(tenant_id=tenant_id).exclude(name="").values_list("pk"))
        named = {pk for (pk,) in named}
        changed = []
        events = Event.objects.filter(tenant_id=tenant_id).exclude(outcome=[])
        for event in events.only("pk", "outcome").order_by("pk").iterator(chunk_size=2000):
            keyed = outcome_keyed(event.outcome, titles, named)
            if keyed is not None:
                event.outcome = keyed
                changed.append(event)
            if len(changed) >= 1000:
                Event.objects.bulk_update(changed, ["outcome"])
                changed = []
        Event.objects.bulk_update(changed, ["outcome"])
        by_rules = StageChange.objects.filter(tenant_id=tenant_id, channel="rule", rule_kind="")
        labels = by_rules.values_list("actor_label", "to_stage").distinct()
        for label, to_stage in list(labels):
            key = titles.get(label)
            if key and key["to"] == to_stage:
                by_rules.filter(actor_label=label, to_stage=to_stage).update(rule_kind=key["kind"])


class Migration(migrations.Migration):
    dependencies = [
        ("tagging", "0016_tag_removals_remembered"),
        ("lifecycle", "0013_stagechange_rule_kind"),
        ("crm", "0017_contact_search_skips_common_keys"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
