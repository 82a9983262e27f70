"""Test settings: the production settings with a throwaway key and plain static storage."""

import os
import re

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("HTTPS_ONLY", "false")

from crm.settings import *  # noqa: E402, F403
from crm.settings import DATABASE_OWNER, STORAGES  # noqa: E402

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The suite creates its test databases and fixtures as the tables' owner; the tests of the
# row-level security wall switch to the application's role themselves.
DATABASES = {"default": DATABASE_OWNER}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_HSTS_SECONDS = 0
# The webhook tests' receiver listens on 127.0.0.1; tests of the refusal turn this off.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

# Tests run tasks inline even where REDIS_URL points at a real broker; tests that need a real
# worker start one themselves.
CELERY_TASK_ALWAYS_EAGER = True
# Parallel test workers keep apart: their own key prefix, and on Redis a database of their own
# (cache.clear() empties a whole Redis database, which another worker would feel mid-test).
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
for _cache in CACHES.values():  # noqa: F405
    _cache["KEY_PREFIX"] = "test-" + _worker
    if "redis" in _cache["BACKEND"]:
        _number = 1 + int(_worker.removeprefix("gw") or 0) % 15 if _worker != "main" else 15
        _cache["LOCATION"] = re.sub(r"/\d*$", f"/{_number}", _cache["LOCATION"].rstrip("/"))
# Failed logins counted in a cache of each test process's own: on Redis, another test worker's
# cache.clear() would empty the shared one in the middle of a lockout test.
CACHES["axes"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}  # noqa: F405
AXES_CACHE = "axes"
