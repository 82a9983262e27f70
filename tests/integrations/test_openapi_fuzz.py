"""Schemathesis walks every operation of the OpenAPI document with generated requests (a valid
token, a company with data): never a 5xx, every answer as documented, invalid input refused.
Bounded: a few examples per operation and mode, so it runs in seconds.

Driven through hypothesis directly: schemathesis' pytest plugin does not run on pytest 9 yet."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import ContactFactory
from tests.integrations.conftest import token_for

EXAMPLES = 25


@pytest.fixture
def api_schema(db):
    from crm.wsgi import application

    # Requests stay inside the test's transaction, as with Django's test client.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_as_its_openapi_document_says(api_schema, admin, tenant, mode):
    ContactFactory(tenant=tenant, name="张伟", email="zhangwei@qq.com")
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 13

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            # A well-formed request may still be refused (400: no such tag, a name already
            # taken): the API's own rules, not a schema violation.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
