"""Built-in behaviour kinds (the seed's seven steps and a few more). Tenants add their own."""

from django.utils.translation import gettext_lazy as _

BUILTIN_KINDS = {
    "form_submitted": _("Submitted the form"),
    "price_list_downloaded": _("Downloaded the price list"),
    "trial_booked": _("Booked a trial class"),
    "consultation_call": _("Called to ask about courses"),
    "payment_intent": _("Said they will pay"),
    "payment_received": _("Paid"),
    "referral_joined": _("Joined the referral programme"),
    "event_attended": _("Attended an event"),
}

# The default rules every tenant starts with (seed lifecycle-tags-7-stages.md): kind -> stage.
# A company that started before one was added is offered it on the rules page (TaggingDefaults).
DEFAULT_RULES = [
    ("form_submitted", "lead"),
    ("price_list_downloaded", "mql"),
    # the seed's MQL evidence: "开始下载价格表、预约体验课、下载课程表"
    ("trial_booked", "mql"),
    ("consultation_call", "sql"),
    ("payment_intent", "opportunity"),
    ("payment_received", "customer"),
    ("referral_joined", "evangelist"),
]
