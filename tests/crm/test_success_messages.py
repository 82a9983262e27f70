"""After adding a custom field or saving a view, the page the admin or marketer lands on says it
worked, in their language: the message survives the redirect and shows once."""

from django.urls import reverse

from crm.models import CustomField, SavedView


def landed(client, path: str, data: dict) -> str:
    response = client.post(path, data, follow=True)
    assert response.redirect_chain and response.status_code == 200
    return response.content.decode()


def test_adding_a_field_says_it_was_added_on_the_page_the_admin_lands_on(
    admin_client, admin, tenant
):
    fields = reverse("custom_field_list", args=[tenant.slug])
    page = landed(admin_client, fields, {"label": "生日", "kind": "date"})
    assert CustomField.objects.for_tenant(tenant).filter(label="生日").exists()
    assert 'class="flash-success">Field “生日” added. Imports and the API name it' in page
    assert "Field “生日” added" not in admin_client.get(fields).content.decode()  # once

    admin.user.language = "zh-hans"
    admin.user.save(update_fields=["language"])
    page = landed(admin_client, fields, {"label": "校区", "kind": "text"})
    assert 'class="flash-success">已添加字段“校区”' in page


def test_saving_a_view_says_it_was_saved_on_the_list_the_marketer_lands_on(
    marketer_client, marketer, tenant
):
    new = reverse("saved_view_create", args=[tenant.slug])
    page = landed(marketer_client, new, {"name": "本周试听未到访", "params": "stage=lead",
                                         "shared": "on"})  # fmt: skip
    view = SavedView.objects.for_tenant(tenant).get()
    assert (view.name, view.shared) == ("本周试听未到访", True)
    assert 'class="flash-success">View “本周试听未到访” saved, shared with the company.' in page

    marketer.user.language = "zh-hans"
    marketer.user.save(update_fields=["language"])
    page = landed(marketer_client, new, {"name": "我的潜在客户", "params": "stage=lead"})
    assert 'class="flash-success">视图“我的潜在客户”已保存，只有你能看到。' in page
