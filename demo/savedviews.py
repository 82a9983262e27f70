"""The demo school's saved views (issue 18): the ones a marketer and a salesperson would have
kept on the contact list, so its side list shows what views are for. Once per company."""

from crm.columns import CUSTOM, PARAM
from crm.models import CustomField, Membership, SavedView, Tenant
from crm.savedviews import saved_view_create
from tagging.models import Tag


def seed_saved_views(
    tenant: Tenant, *, marketer: Membership | None, seller: Membership | None
) -> None:
    """Two views the marketer shares with the company (by tags, and by the school's own
    fields, with their columns) and the salesperson's own."""
    if SavedView.objects.for_tenant(tenant).exists():
        return
    tags = dict(Tag.objects.for_tenant(tenant).values_list("label", "pk"))
    keys = dict(CustomField.objects.for_tenant(tenant).values_list("label", "key"))
    if marketer is not None and {"高意向", "成人口语"} <= tags.keys():
        saved_view_create(tenant=tenant, actor=marketer, name="高意向 · 成人口语", shared=True,
                          params={"tag_all": [str(tags["高意向"]), str(tags["成人口语"])],
                                  "status": ["active"]})  # fmt: skip
    if marketer is not None and {"校区", "年级"} <= keys.keys():
        columns = f"phone,owner,{CUSTOM}{keys['校区']},{CUSTOM}{keys['年级']}"
        saved_view_create(tenant=tenant, actor=marketer, name="浦东校区的营销合格", shared=True,
                          params={"stage": ["mql"], f"cf_{keys['校区']}": ["浦东校区"],
                                  PARAM: [columns]})  # fmt: skip
    if seller is not None:
        saved_view_create(tenant=tenant, actor=seller, name="我的销售合格，久未推进",
                          params={"owner": ["me"], "stage": ["sql"],
                                  "sort": ["stage_since"]})  # fmt: skip
