"""Guessing passwords is slowed: five failures in a row for one account, or from one address,
and that account or address waits, told so in its own language."""

from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.urls import reverse

from integrations.auth import BadTokenCount
from tests.conftest import PASSWORD
from tests.integrations.conftest import ApiClient, error_of, token_for

LIMIT = 5


def attempt(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(sales):
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    answers = [attempt(guesser, "zhao", f"guess-{n}").status_code for n in range(LIMIT)]
    assert answers == [200] * (LIMIT - 1) + [429]  # the form again, then the fifth locks

    refused = attempt(
        Client(REMOTE_ADDR="198.51.100.1", HTTP_ACCEPT_LANGUAGE="en"), "zhao", PASSWORD
    )

    assert (refused.status_code, refused["Retry-After"]) == (429, "900")
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in refused.client.session


def test_the_refusal_is_in_the_users_language(sales):
    guesser = Client(REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="zh-hans")
    for n in range(LIMIT):
        attempt(guesser, "zhao", f"guess-{n}")
    refused = attempt(guesser, "zhao", PASSWORD)
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.content.decode()


def test_five_failures_from_one_address_pause_that_address_only(admin, sales):
    office = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(LIMIT):
        attempt(office, f"nobody-{n}", "whatever-123")

    assert attempt(office, "wang", PASSWORD).status_code == 429
    assert attempt(Client(REMOTE_ADDR="198.51.100.1"), "wang", PASSWORD).status_code == 302


def test_a_forwarded_for_header_does_not_let_a_guesser_change_address(sales):
    for n in range(LIMIT):
        spoofing = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        attempt(spoofing, f"nobody-{n}", "whatever-123")
    fresh_header = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert attempt(fresh_header, "zhao", PASSWORD).status_code == 429


def test_a_success_clears_the_accounts_count(sales):
    for n in range(LIMIT - 1):
        attempt(Client(REMOTE_ADDR=f"198.51.100.{n}"), "zhao", "wrong-password")
    assert attempt(Client(REMOTE_ADDR="198.51.100.50"), "zhao", PASSWORD).status_code == 302
    for n in range(LIMIT - 1):
        attempt(Client(REMOTE_ADDR=f"198.51.100.{n + 10}"), "zhao", "wrong-password")
    assert attempt(Client(REMOTE_ADDR="198.51.100.60"), "zhao", PASSWORD).status_code == 302


def test_invalid_api_tokens_from_one_address_are_refused_with_retry_after(
    admin, settings, monkeypatch
):
    settings.API_BAD_TOKEN_LIMIT = 3
    monkeypatch.setattr(BadTokenCount, "clock", staticmethod(lambda: 1_800_000_015.5))
    monkeypatch.setattr("integrations.auth.cache", LocMemCache("bad-token-test", {}))
    guesser = ApiClient("not-a-real-token")
    assert [guesser.get("/funnel").status_code for _ in range(3)] == [401, 401, 401]

    limited = guesser.get("/funnel")
    # even a valid token is refused from that address until the minute turns
    valid_from_there = ApiClient(token_for(admin)).get("/funnel")

    assert (limited.status_code, limited["Retry-After"]) == (429, "45")
    assert error_of(limited)["code"] == "rate_limited"
    assert valid_from_there.status_code == 429
    elsewhere = ApiClient(token_for(admin, name="other"))
    elsewhere.client.defaults["REMOTE_ADDR"] = "198.51.100.9"
    assert elsewhere.get("/funnel").status_code == 200
