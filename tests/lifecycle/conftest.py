import pytest

from lifecycle.models import StageSetting
from lifecycle.selectors import stage_settings_changed


@pytest.fixture
def require(tenant):
    """Sets what entering a stage requires for the tenant."""

    def _require(stage: str, *keys: str) -> None:
        StageSetting.objects.update_or_create(
            tenant=tenant, stage=stage, defaults={"requirements": list(keys)}
        )
        stage_settings_changed(tenant=tenant)

    return _require
