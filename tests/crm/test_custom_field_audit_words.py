"""An admin reading the audit log in Chinese reads a custom field's entries in Chinese, on the
page and in the CSV: "单选；字段键 xiao_qu", never the English word "key" in a Chinese sentence."""

import csv
import io

from django.urls import reverse

from crm import customfields as cf
from crm.models import CustomField


def test_custom_field_entries_name_the_key_in_chinese_on_the_page_and_in_the_csv(
    admin_client, admin, tenant
):
    admin.user.language = "zh-hans"
    admin.user.save(update_fields=["language"])
    campus = cf.custom_field_create(
        tenant=tenant, actor=admin, label="校区", kind=CustomField.Kind.CHOICE,
        options=["徐汇", "浦东"],
    )  # fmt: skip
    cf.custom_field_update(field=campus, actor=admin, label="上课校区", required=False,
                           options=["徐汇", "浦东"])  # fmt: skip

    page = admin_client.get(reverse("audit_log", args=[tenant.slug])).content.decode()
    assert "单选；字段键 xiao_qu" in page
    assert "字段键 xiao_qu；原名“校区”" in page

    export = admin_client.get(reverse("audit_export", args=[tenant.slug]))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    details = [row[-1] for row in rows[1:] if "xiao_qu" in row[-1]]
    assert details == ["字段键 xiao_qu；原名“校区”", "单选；字段键 xiao_qu"]
    assert not any("key" in detail for detail in details)
