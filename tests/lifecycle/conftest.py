import pytest

from lifecycle.models import StageSetting


@pytest.fixture
def require(tenant):
    """Sets what entering a stage requires for the tenant."""

    def _require(stage: str, *keys: str) -> None:
        StageSetting.objects.update_or_create(
            tenant=tenant, stage=stage, defaults={"requirements": list(keys)}
        )

    return _require
