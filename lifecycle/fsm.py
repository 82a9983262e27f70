"""The funnel fields every contact carries, and the FSM transitions that set them.

Transitions only set fields; lifecycle.services decides who may move what, writes the history
and schedules the recomputes.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE, FSMField, FSMModelMixin, transition

from .stages import ORDER, RANK, LostReason, Stage, Status

# Written only by lifecycle.services; never by a form, an edit or full_clean().
FUNNEL_FIELD_NAMES = (
    "stage",
    "furthest_stage",
    "stage_entered_at",
    "stage_version",
    "status",
    "lost_reason",
    "lost_note",
)


def _requested_stage(instance, to_stage, **kwargs):
    return to_stage


class FunnelFields(FSMModelMixin, models.Model):
    stage = FSMField(
        _("stage"), default=Stage.SUBSCRIBER, choices=Stage.choices, protected=True, max_length=16
    )
    # The furthest stage ever reached: a backward correction never erases that someone paid.
    furthest_stage = models.CharField(
        _("furthest stage"), max_length=16, choices=Stage.choices, default=Stage.SUBSCRIBER
    )
    stage_entered_at = models.DateTimeField(_("in this stage since"), default=timezone.now)
    # Bumped by every move, so a move made from a stale page is recognised and refused.
    stage_version = models.PositiveIntegerField(default=0)
    status = FSMField(
        _("status"), default=Status.ACTIVE, choices=Status.choices, protected=True, max_length=8
    )
    lost_reason = models.CharField(
        _("lost reason"), max_length=16, choices=LostReason.choices, blank=True
    )
    lost_note = models.CharField(_("lost note"), max_length=500, blank=True)

    class Meta:
        abstract = True

    @transition(field=stage, source=list(ORDER), target=GET_STATE(_requested_stage, states=ORDER))
    def enter_stage(self, to_stage: str, *, at) -> None:
        self.stage_entered_at = at
        self.stage_version += 1
        if RANK[to_stage] > RANK[self.furthest_stage]:
            self.furthest_stage = to_stage

    @transition(field=status, source=Status.ACTIVE, target=Status.LOST)
    def mark_lost(self, reason: str, note: str = "") -> None:
        self.lost_reason = reason
        self.lost_note = note
        self.stage_version += 1

    @transition(field=status, source=Status.LOST, target=Status.ACTIVE)
    def reopen(self) -> None:
        self.lost_reason = ""
        self.lost_note = ""
        self.stage_version += 1

    @property
    def is_lost(self) -> bool:
        return self.status == Status.LOST
