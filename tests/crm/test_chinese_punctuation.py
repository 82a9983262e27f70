"""Chinese sentences take Chinese punctuation: "用户名：wang", "标签（2）", "手机号、邮箱", not the
ASCII ":", "()" and "," English uses. Where pieces are joined in code or in a template, the
joining punctuation is itself translated (crm/words.py, the `words` template tags)."""

import re
from pathlib import Path

from django.urls import reverse
from django.utils import translation

from crm.audit import audit_detail
from crm.models import AuditEntry, AuditKind
from lifecycle.rules import MissingRequirements
from tests.conftest import client_for
from tests.factories import ContactFactory

PO = Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po"
CHINESE = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”"
# ASCII punctuation with a Chinese character on either side (spaces between allowed)
ASCII_BESIDE_CHINESE = re.compile(rf"[{CHINESE}]\s*[:;,()!?]|[:;,()!?]\s*[{CHINESE}]")
# what is not a sentence's own punctuation: placeholders, and text quoted to be typed as it is
NOT_SAID = re.compile(r"%\([a-z_]+\)[sdf]|%\([a-z_]+\)\.\d+f|“[^”]*”")
# the separators an import accepts in a tag cell, listed as they are typed
TYPED_AS_THEY_ARE = {"阶段可填写阶段名称或其标识；同一单元格中的多个标签可用 , ， ; 或 、 分隔。"}


def msgstrs() -> list[str]:
    """Every Chinese translation in the catalogue, each as one line."""
    found, current, reading = [], [], False
    for line in [*PO.read_text().splitlines(), ""]:
        if line.startswith(("msgstr ", "msgstr[")):
            current, reading = [line.split(" ", 1)[1][1:-1]], True
        elif line.startswith('"') and reading:
            current.append(line[1:-1])
        else:
            if reading:
                found.append("".join(current))
            reading = False
    return [text for text in found if text]


def test_no_chinese_translation_puts_ascii_punctuation_in_a_sentence():
    texts = msgstrs()
    assert len(texts) > 1000
    wrong = [
        text
        for text in texts
        if text not in TYPED_AS_THEY_ARE and ASCII_BESIDE_CHINESE.search(NOT_SAID.sub("", text))
    ]
    assert wrong == []


def test_the_checker_finds_what_it_is_for():
    for wrong in ("规则: 已付款", "标签 (2)", "手机号, 邮箱", "（共 3 个)"):
        assert ASCII_BESIDE_CHINESE.search(NOT_SAID.sub("", wrong)), wrong
    for right in (
        "规则：已付款",
        "最多 5,000 个字符",
        "“Authorization: Bearer <令牌>”",
        "%(n)s 天",
    ):
        assert not ASCII_BESIDE_CHINESE.search(NOT_SAID.sub("", right)), right


def test_the_profile_shows_the_username_after_a_chinese_colon(admin):
    for language, said in (("zh-hans", "用户名：<strong>wang</strong>"),
                           ("en", "Username: <strong>wang</strong>")):  # fmt: skip
        admin.user.language = language
        admin.user.save(update_fields=["language"])
        assert said in client_for(admin).get(reverse("profile")).content.decode()


def test_an_aside_beside_a_name_is_in_chinese_brackets(admin, tenant, sales):
    """The members page: a member's name, and the username they log in with beside it."""
    sales.user.first_name, sales.user.last_name = "小明", "赵"
    sales.user.save(update_fields=["first_name", "last_name"])
    url = reverse("member_list", args=[tenant.slug])
    for language, said in (("zh-hans", '<span class="muted">（zhao）</span>'),
                           ("en", '<span class="muted"> (zhao)</span>')):  # fmt: skip
        admin.user.language = language
        admin.user.save(update_fields=["language"])
        assert said in client_for(admin).get(url).content.decode()


def test_a_token_acts_as_a_member_named_with_their_role_in_brackets(admin, tenant):
    url = reverse("api_settings", args=[tenant.slug])
    for language, said in (
        ("zh-hans", ">wang（管理员）</option>"),
        ("en", ">wang (Admin)</option>"),
    ):
        admin.user.language = language
        admin.user.save(update_fields=["language"])
        assert said in client_for(admin).get(url).content.decode()


def test_the_audit_log_says_stage_changes_with_the_readers_punctuation():
    entry = AuditEntry(
        kind=AuditKind.STAGE_SETTINGS_CHANGED,
        details={"stages": {"lead": {"label": "线索", "aliases_added": ["意向", "咨询"]},
                            "mql": {"label": ""}}},
    )  # fmt: skip
    with translation.override("zh-hans"):
        chinese = audit_detail(entry)
    with translation.override("en"):
        english = audit_detail(entry)
    assert (
        chinese.startswith("潜在客户：线索（")
        and "意向、咨询" in chinese
        and "）；营销合格：—" in chinese
    )
    assert english.startswith("Lead: 线索 (new aliases: 意向, 咨询); Marketing qualified lead: —")


def test_requirements_are_said_as_a_sentence_says_them(tenant):
    contact = ContactFactory.build(tenant=tenant)
    refused = MissingRequirements(
        contact, "opportunity", ["phone_or_email", "owner", "expected_amount"]
    )
    with translation.override("en"):
        assert str(refused.message) == (
            "To enter this stage the contact needs a phone number or an email address, an owner "
            "and an expected amount."
        )
    with translation.override("zh-hans"):
        refused = MissingRequirements(contact, "opportunity", ["phone", "expected_amount"])
        assert str(refused.message) == "进入此阶段，联系人需具备电话和预计金额。"
