import factory

from crm.models import Contact, Membership, Role, Tenant, User
from crm.sortkeys import name_sort_key


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"company-{n}")
    name = factory.Sequence(lambda n: f"公司 {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    # Tests read pages in English unless they test the language choice itself.
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.SALES


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"客户{n}")
    # what save() sets, for rows built and written with bulk_create
    name_sort = factory.LazyAttribute(lambda contact: name_sort_key(contact.name))
    phone = factory.Sequence(lambda n: f"139{n:08d}")
