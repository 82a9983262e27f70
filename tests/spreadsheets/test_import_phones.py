"""Imports read phones, emails and WeChat IDs as the forms do; an impossible phone fails its row
with the reason, worded in the reader's language."""

from django.utils import translation

from crm.models import Contact
from spreadsheets.imports import report
from tests.factories import ContactFactory
from tests.spreadsheets.test_imports import people, run

FILE = "\n".join(
    [
        "姓名,手机,邮箱,微信",
        "全角,１３８ ００１３ ８０００,ＱＵＡＮ@ＱＱ.ＣＯＭ,ＱＵＡＮ＿ＪＩＡＯ",
        "北京办,+86-10-8888-6666,,",
        "Ada,+1 415 555 2671,ada@example.com,",
        "香港,+852 2123 4567,,",
        "太短,12345,short@qq.com,",
        "字母,1-800-FLOWERS,,",
        "美国错号,+1 000 000 0000,,",
        "加86,+86 139 0000 1111,,",
    ]
).encode()


def test_full_width_and_foreign_phones_are_imported_in_the_stored_form(tenant, marketer):
    job = run(tenant, marketer, "phones.csv", content=FILE)
    found = {name: (c.phone, c.email, c.wechat_id) for name, c in people(tenant).items()}
    assert found == {
        "全角": ("13800138000", "quan@qq.com", "quan_jiao"),
        "北京办": ("01088886666", "", ""),
        "Ada": ("+14155552671", "ada@example.com", ""),
        "香港": ("+85221234567", "", ""),
        "加86": ("13900001111", "", ""),
    }
    assert (job.created, job.failed) == (5, 3)


def test_an_impossible_phone_fails_its_row_with_the_reason(tenant, marketer):
    job = run(tenant, marketer, "phones.csv", content=FILE)
    reasons = [(e["row"], e["column"], e["reason"]) for e in report.errors_shown(job.errors)]
    assert reasons == [
        (
            6,
            "Phone",
            "“12345” is too short for a phone number: a mobile has 11 digits, a landline needs "
            "its area code.",
        ),
        (7, "Phone", "A phone number has digits, spaces, +, - and brackets only."),
        (
            8,
            "Phone",
            "“+1 000 000 0000” is not a phone number in use. A number from outside mainland "
            "China starts with + and its country code.",
        ),
    ]
    with translation.override("zh-hans"):
        shown = report.errors_shown(job.errors)
    assert [(e["column"], e["reason"]) for e in shown] == [
        ("电话", "“12345”太短，不是电话号码：手机号为 11 位，座机号须带区号。"),
        ("电话", "电话号码只能包含数字、空格、+、- 和括号。"),
        (
            "电话",
            "“+1 000 000 0000”不是在用的电话号码。中国大陆以外的号码请以 + 和国家或地区代码开头。",
        ),
    ]
    # the row with the bad phone is not imported for its good email either
    assert not Contact.objects.for_tenant(tenant).filter(email="short@qq.com").exists()
    assert "12345" in report.failed_rows_csv(job).decode("utf-8-sig")


def test_a_full_width_phone_in_a_file_finds_the_contact_who_has_it(tenant, marketer):
    kept = ContactFactory(tenant=tenant, name="老张", phone="13800138000", email="")
    job = run(tenant, marketer, "phones.csv", content=FILE)
    kept.refresh_from_db()
    assert (kept.name, kept.email, kept.wechat_id) == ("老张", "quan@qq.com", "quan_jiao")
    assert (job.created, job.updated) == (4, 1)


def test_an_error_stored_by_an_older_version_is_still_worded(tenant):
    shown = report.errors_shown([{"row": 3, "code": "bad_phone", "value": "12"}])
    assert shown == [{"row": 3, "column": "Phone", "reason": "“12” is not a phone number."}]
