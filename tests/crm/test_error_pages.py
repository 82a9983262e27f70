"""Our own "not found" and "something went wrong" pages, in the reader's language: the user's
own setting, else the browser's. The fault page is drawn without the database or the context
processors, which may be what failed."""

import pytest
from django.test import Client, RequestFactory
from django.urls import path
from django.utils import translation
from django.views.defaults import server_error

from crm.urls import urlpatterns as site
from tests.conftest import client_for


def fault(request):
    raise RuntimeError("a fault on our side")


# the site's addresses and one that fails (pytest.mark.urls)
urlpatterns = [path("test-fault/", fault), *site]

FAULT = {
    "en": ("Something went wrong", "a fault on our side. It has been recorded"),
    "zh-hans": ("出错了", "由于我们这边的故障"),
}
NOT_FOUND = {
    "en": ("Not found", "There is nothing here, or it is not yours to see."),
    "zh-hans": ("页面不存在", "此处没有内容，或你无权查看。"),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_address_that_leads_nowhere_says_so_in_the_browsers_language(db, language):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    title, sentence = NOT_FOUND[language]
    assert f"<h1>{title}</h1>" in html and sentence in html
    assert f'<html lang="{language}">' in html
    assert 'href="/"' in html  # a way back


def test_another_companys_page_is_not_found_in_the_members_own_language(tenant, outsider):
    outsider.user.language = "en"
    outsider.user.save(update_fields=["language"])
    client = client_for(outsider, HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.get(f"/t/{tenant.slug}/contacts/")
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.content.decode()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_fault_shows_our_own_page_in_the_readers_language(db, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False)
    response = client.get("/test-fault/")
    assert response.status_code == 500
    html = response.content.decode()
    title, sentence = FAULT[language]
    assert f"<h1>{title}</h1>" in html and sentence in html
    assert f'<html lang="{language}">' in html
    assert "RuntimeError" not in html  # nothing of the fault itself is shown


@pytest.mark.urls(__name__)
def test_a_fault_for_a_member_is_said_in_their_own_language(admin):
    admin.user.language = "en"
    admin.user.save(update_fields=["language"])
    client = client_for(admin, HTTP_ACCEPT_LANGUAGE="zh-hans", raise_request_exception=False)
    response = client.get("/test-fault/")
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in response.content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_fault_page_needs_neither_the_database_nor_a_user(language):
    """No `db` fixture: pytest-django refuses any query, as a database that is down would."""
    request = RequestFactory().get("/")  # no user, no session, no company
    with translation.override(language):
        response = server_error(request)
    assert response.status_code == 500
    assert FAULT[language][0] in response.content.decode()
