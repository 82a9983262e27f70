"""What a stage requires is said in the reader's words wherever a move is held back: a bulk move
names the missing requirement as a sentence says it, an import warning lists several with the
reader's list punctuation (Chinese: 、, not ", ")."""

from django.utils import translation

from crm.models import Contact
from lifecycle.bulk_moves import contacts_bulk_move
from spreadsheets.imports.report import warnings_shown
from tests.factories import ContactFactory


def held_back(result) -> dict[str, tuple[str, int]]:
    return {code: (str(said), count) for code, (said, count, _s) in result.skipped.items()}


def test_a_bulk_move_held_back_says_what_is_missing_as_a_sentence_says_it(
    tenant, marketer, require
):
    require("lead", "phone_or_email")
    nobody = ContactFactory(tenant=tenant, name="无联系方式", phone="", email="")
    reachable = ContactFactory(tenant=tenant, name="有手机", phone="13900000001", email="")
    ids = [nobody.pk, reachable.pk]

    result = contacts_bulk_move(tenant=tenant, actor=marketer, contacts=ids, to_stage="lead")
    assert held_back(result) == {
        "missing_phone_or_email": ("missing a phone number or an email address", 1)
    }
    with translation.override("zh-hans"):
        again = contacts_bulk_move(tenant=tenant, actor=marketer, contacts=ids, to_stage="lead")
    assert again.done == 0 and again.skipped["missing_phone_or_email"][0] == "缺少电话或邮箱"
    stages = dict(Contact.objects.for_tenant(tenant).values_list("name", "stage"))
    assert stages == {"无联系方式": "subscriber", "有手机": "lead"}


def test_an_import_warning_lists_two_missing_requirements_in_the_readers_punctuation(tenant):
    # a row asked for 销售合格, which needs a phone and a company it lacked: put at 潜在客户
    warning = {"row": 4, "code": "stage_lowered", "value": "sql|lead|phone,company"}
    with translation.override("zh-hans"):
        [shown] = warnings_shown([warning], tenant=tenant)
    assert shown["reason"] == "阶段“销售合格”需要“电话、公司”：已放在“潜在客户”。"
    with translation.override("en"):
        [shown] = warnings_shown([warning], tenant=tenant)
    assert shown["reason"] == "Stage “Sales qualified lead” needs “Phone, Company”: put at “Lead”."
