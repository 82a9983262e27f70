"""With real Celery workers on Redis and PostgreSQL: stored counts and audiences converge to
the truth while contacts move; recomputes are safe at once; an unreachable Redis loses nothing."""

import os
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django.urls import reverse

from audiences.models import AudienceChange, AudienceMember
from audiences.selectors import audience_contacts
from audiences.services import audience_recompute, audience_save
from crm.celery import app as celery_app
from crm.models import Contact
from lifecycle import scheduling
from lifecycle.analytics import funnel_recompute, stage_counts
from lifecycle.bulk_moves import contacts_bulk_move
from lifecycle.models import FunnelCount
from lifecycle.services import contact_stage_move
from tests.conftest import eventually
from tests.factories import ContactFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (CI runs it)"),
]


def _reset_producer_pool() -> None:
    # Celery keeps one producer pool per app; a changed broker URL needs a new one.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def real_worker(settings, monkeypatch):
    from celery.contrib.testing.worker import start_worker

    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = "funnel-crm-tests"
    monkeypatch.setattr(scheduling, "DEBOUNCE", dict.fromkeys(scheduling.DEBOUNCE, 0.3))
    cache.clear()
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=15):
        yield
    celery_app.control.purge()
    celery_app.conf.task_always_eager = True


def truth(tenant) -> dict:
    return stage_counts(Contact.objects.for_tenant(tenant))


def stored(tenant) -> dict:
    counts = {}
    for row in FunnelCount.objects.for_tenant(tenant):
        counts.setdefault(row.stage, {})[row.status] = row.count
    return counts


def test_counts_and_audiences_converge_with_a_real_worker(real_worker, tenant, sales, marketer):
    people = ContactFactory.create_batch(40, tenant=tenant)
    audience = audience_save(tenant=tenant, actor=marketer, name="SQL+", gate="at_or_past",
                             stages=["sql"])  # fmt: skip
    contacts_bulk_move(tenant=tenant, actor=sales, contacts=[p.pk for p in people[:30]],
                       to_stage="lead")  # fmt: skip
    for person in people[:10]:
        contact_stage_move(contact=person, actor=sales, to_stage="sql")
    contact_stage_move(contact=people[35], actor=sales, to_stage="customer")

    def converged() -> bool:
        wanted = set(audience_contacts(audience).values_list("pk", flat=True))
        held = set(
            AudienceMember.objects.for_tenant(tenant)
            .filter(audience=audience)
            .values_list("contact_id", flat=True)
        )
        return stored(tenant) == truth(tenant) and held == wanted and len(wanted) == 11

    assert eventually(converged), (stored(tenant), truth(tenant))


def _together(*jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def run(job):
        try:
            barrier.wait()
            job()
        except Exception as error:  # the test asserts there are none
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_recomputes_at_once_give_the_same_right_answer(tenant, marketer):
    ContactFactory.create_batch(25, tenant=tenant, stage="sql")
    ContactFactory.create_batch(5, tenant=tenant, stage="lead")
    audience = audience_save(tenant=tenant, actor=marketer, name="SQL+", gate="at_or_past",
                             stages=["sql"])  # fmt: skip
    errors = _together(
        lambda: funnel_recompute(tenant=tenant),
        lambda: funnel_recompute(tenant=tenant),
        lambda: audience_recompute(audience=audience),
        lambda: audience_recompute(audience=audience),
    )
    assert errors == []
    assert stored(tenant) == truth(tenant)
    assert AudienceMember.objects.for_tenant(tenant).filter(audience=audience).count() == 25
    entered = AudienceChange.objects.for_tenant(tenant).filter(audience=audience)
    assert entered.count() == 25  # each contact entered once, not twice


def test_with_redis_unreachable_pages_serve_moves_save_and_the_backstop_repairs(
    settings, sales_client, tenant, sales
):
    from lifecycle.tasks import recompute_everything

    contact = ContactFactory(tenant=tenant, stage="lead")
    funnel_recompute(tenant=tenant)
    unreachable = "redis://127.0.0.1:1/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    old_broker = celery_app.conf.broker_url
    celery_app.conf.broker_url = unreachable
    _reset_producer_pool()
    try:
        caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                              "LOCATION": unreachable}}  # fmt: skip
        with override_settings(CACHES=caches):
            started = time.monotonic()
            response = sales_client.post(
                reverse("contact_move", args=[tenant.slug, contact.pk]),
                {"to_stage": "sql", "version": 0},
            )
            assert response.status_code == 302
            assert time.monotonic() - started < 10  # no long hang on the dead broker
            page = sales_client.get(reverse("board", args=[tenant.slug]))
            assert page.status_code == 200
    finally:
        celery_app.conf.broker_url = old_broker
        _reset_producer_pool()
        celery_app.conf.task_always_eager = True
        settings.CELERY_TASK_ALWAYS_EAGER = True
    assert Contact.objects.for_tenant(tenant).get(pk=contact.pk).stage == "sql"
    assert stored(tenant)["sql"]["active"] == 0  # the recompute could not be sent
    recompute_everything()  # what beat runs every few minutes
    assert stored(tenant) == truth(tenant)
