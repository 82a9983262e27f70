"""Where the apps above crm join in what crm starts, without crm importing them: each hook is a
list of steps the apps register at start-up (AppConfig.ready) and crm calls in that order
(INSTALLED_APPS order), inside its own transaction."""


class Hook:
    def __init__(self) -> None:
        self.steps: list = []

    def register(self, step) -> None:
        if step not in self.steps:
            self.steps.append(step)

    def __call__(self, **kwargs) -> None:
        for step in self.steps:
            step(**kwargs)


# tenant=: a new company is set up (tagging: the default rules).
tenant_setup = Hook()

# tenant=, event=, rows=: history was written (integrations: webhook deliveries, an outbox
# committed with the change). `rows` is a queryset of the written rows with the values
# (contact, ref, at): a bulk change is passed on set-based, never row by row.
change_recorded = Hook()

# survivor=, merged=, actor=: two contacts merge; each app moves what it holds of `merged` to
# `survivor` before `merged` is deleted (lifecycle: history and the furthest stage; tagging: tags
# and events; activities: what was said and done).
contacts_merging = Hook()

# tenant=: contacts were deleted (lifecycle: the stored figures follow).
contacts_deleted = Hook()

# tenant=: a contact was added, in the funnel's first stage (lifecycle: the stored figures and
# the audiences follow, as they do a move).
contact_added = Hook()

# tenant=: contacts' custom values changed by hand, the API, a merge or a field deleted (imports
# say tenant_changed themselves). audiences: those filtering on them are computed again.
custom_values_changed = Hook()

# tenant=, member=, to=: a member's work is handed over to `to` (None: nobody yet), in the
# caller's transaction, after crm moved the contacts they own (activities: their open tasks).
# Returns nothing; each step counts what it moved through `moved` (a dict it may add to).
work_handed_over = Hook()

# source=, target=, said=: a tag is about to be merged into another (tagging asks first); each
# app that keeps tags' ids in definitions of its own (audiences) says, in the reader's words,
# what the merge would change of them: it appends a sentence to `said` (a list).
tag_merge_said = Hook()

# source=, target=: the merge itself, in its transaction, before `source` is deleted: what
# names `source` names `target` from then on.
tags_merging = Hook()

# tenant=: contacts' consent changed (crm.consent: by hand, the API, an import, a merge), in the
# caller's transaction. audiences: those requiring consent are computed again after commit.
consent_changed = Hook()
