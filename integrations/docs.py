"""The words on the docs page (/api/v1/docs): how to authenticate, what errors look like, how
pages and webhooks work. The verification snippet is the one the tests run, and the tests hold
each event's example to what is really sent."""

import json

VERIFY_SNIPPET = '''\
import hashlib
import hmac
import time


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """True if `body` was sent by Funnel CRM with this endpoint's `secret`.
    `header` is the X-Funnel-Signature header: "t=<unix time>,v1=<hex>"."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old (or from the future): a replay
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
'''

STANDARD_SNIPPET = """\
from standardwebhooks import Webhook, WebhookVerificationError  # pip install standardwebhooks

webhook = Webhook("whsec_…")  # the endpoint's Standard Webhooks secret


def receive(body: bytes, headers: dict) -> dict | None:
    \"\"\"The event, or None if it was not sent by Funnel CRM (or is too old).\"\"\"
    try:
        return webhook.verify(body, headers)  # the raw body, as received
    except WebhookVerificationError:
        return None
"""

_CONTACT = {"id": 42, "name": "张伟", "stage": "lead", "tier": "银卡", "…": "…"}
_TASK = {"id": 88, "title": "周五回电确认体验课", "due_at": "2026-03-06T02:00:00Z",
         "assignee": "李销售", "done": False, "activity_id": 310}  # fmt: skip

# event: (when it is sent, its `data`): the docs' examples, checked against real payloads
WEBHOOK_EXAMPLES = {
    "contact.created": ("A contact was created (by hand, an import, the API, a form).",
                        {"contact": _CONTACT}),
    "contact.stage_changed": ("A contact moved to another stage.",
                              {"contact": _CONTACT, "from_stage": "subscriber",
                               "from_stage_label": "围观者", "to_stage": "lead",
                               "to_stage_label": "潜在客户", "reason": "", "channel": "api"}),
    "contact.tagged": ("A contact was given a tag.",
                       {"contact": _CONTACT,
                        "tag": {"id": 7, "label": "成人口语", "group": "课程兴趣"}}),
    "audience.entered": ("A contact entered an audience.",
                         {"contact": _CONTACT, "audience": {"id": 3, "name": "SQL+"}}),
    "audience.left": ("A contact left an audience.",
                      {"contact": _CONTACT, "audience": {"id": 3, "name": "SQL+"}}),
    "task.created": ("A task was written down: by hand, as an activity's follow-up, or by one "
                     "of the company's task rules.", {"contact": _CONTACT, "task": _TASK}),
    "task.due": ("An open task fell due (within a minute), once per task, whoever it is for "
                 "(`assignee`: `null` for nobody).", {"contact": _CONTACT, "task": _TASK}),
    "activity.logged": ("A call, meeting, WeChat chat, visit or note was logged.",
                        {"contact": _CONTACT,
                         "activity": {"id": 310, "kind": "call", "kind_label": "电话",
                                      "occurred_at": "2026-03-01T08:00:00Z",
                                      "author": "李销售", "text": "问了周末班",
                                      "outcome": "约了体验课"}}),
    "contact.tier_changed": ("A contact's tier changed when it was graded again (a payment, "
                             "the tiers edited, time passing); never when it stayed the same. "
                             "`null`: no tier.",
                             {"contact": _CONTACT, "from_tier": None, "to_tier": "银卡",
                              "to_tier_id": 2, "paid": "1200.00", "window_days": 365}),
    "contact.merged": ("Two contacts were merged: `contact` is the one kept; the other, "
                       "`merged_contact`, no longer exists.",
                       {"contact": _CONTACT, "merged_contact": {"id": 43}}),
    "contact.erased": ("A contact's personal information was erased at their request. Only "
                       "the id and the time are sent: erase what your system holds of them.",
                       {"contact": {"id": 42}}),
}  # fmt: skip


def _events_doc() -> str:
    parts = []
    for event, (when, data) in WEBHOOK_EXAMPLES.items():
        envelope = json.dumps({"id": "9001", "type": event, "occurred_at": "2026-03-01T08:00:00Z",
                               "company": "english-school"}, ensure_ascii=False)  # fmt: skip
        example = f'{envelope[:-1]},\n "data": {json.dumps(data, ensure_ascii=False)}}}'
        parts.append(f"#### `{event}`\n\n{when}\n\n```json\n{example}\n```\n")
    return "\n".join(parts)


EVENTS_DOC = _events_doc()

DESCRIPTION = f"""
The Funnel CRM API lets web forms, WeChat tools and shops create contacts, report what people
did and move them through the funnel; webhooks tell your systems when something changed.
All requests and answers are JSON (UTF-8).

## Authentication

An admin creates a token under **Settings → API and webhooks** (or on the server:
`python manage.py create_api_token <company> <username> --name "Web form"`). The token is shown
once. Send it with every request:

```
curl -H "Authorization: Bearer fnl_…" https://crm.example.com/api/v1/contacts
```

The token decides the company, and the role of the member it belongs to decides what it may
do: anyone may create contacts, log events, tag and move forward; moving a contact back to an
earlier stage needs an admin's or a salesperson's token and a `reason`.

Press **Authorize** above and paste the token (without "Bearer") to try the calls on this page.

## Stages

Stages are keys (`subscriber`, `lead`, `mql`, `sql`, `opportunity`, `customer`, `evangelist`);
answers carry the company's own label beside each key (`stage_label`). Where a request names a
stage (creating, moving, `?stage=`), the company's label, a standard name or an alias set on the
stage settings page is understood too; answers always give the key.

## Moving a contact

`POST /api/v1/contacts/{{id}}/stage` with `{{"stage": "sql"}}` moves the contact by the same rules
as the board. Add `"expected_stage": "lead"` — the stage your system last saw the contact in —
to guard against acting on an out-of-date view: if someone (a person, a rule, an import) moved
the contact since, the move is refused with 409 (`stale`) and nothing changes; read the contact
again and decide. Without `expected_stage` the contact moves from whatever stage it is in now.

## Errors

Every error answers with a JSON body:

```json
{{"error": {{"code": "duplicate", "message": "A contact with the same email…",
           "existing_id": 42}}}}
```

| status | when |
|---|---|
| 400 | malformed JSON, wrong types, unknown fields (`invalid`, with `fields`), a refused value |
| 401 | no token, or a revoked or unknown one |
| 403 | the token's role does not allow this |
| 404 | no such id in your company (ids of other companies are "not found" too) |
| 409 | a duplicate contact (`existing_id`), a move the funnel refuses, a stale `expected_stage` |
| 413 | a body over 1 MB |
| 429 | more than 120 requests a minute for one token; wait `Retry-After` seconds |

## Pagination

Lists answer `{{"items": [...], "next": "<cursor>"}}`. While `next` is not null, ask again with
`?cursor=<next>` (other filters unchanged). Pages cost the same however deep you go; there is no
total count.

## Creating or updating contacts from a form

`POST /api/v1/contacts` with `{{"name": "张伟", "phone": "13800138000", "source": "官网表单"}}`.
If a contact with the same email, phone or WeChat ID exists, the answer is 409 with its
`existing_id`; add `?upsert=true` to update that contact instead (empty fields filled, a given
`stage` only moves it forward, `tags` added). Then report what the person did, and the company's
rules run exactly as when someone logs it by hand:

`POST /api/v1/contacts/{{id}}/events` with
`{{"kind": "form_submitted", "data": {{"external_id": "form-8812"}}}}`

The same `external_id` sent twice is recorded once.

## Custom fields

A company's own fields (生日, 校区, 年级…, added by an admin under **Settings → Custom fields**)
are in each contact's `custom` object, by the field's key, which the settings page shows and
which stays when the field is renamed:

```json
{{"name": "张伟", "phone": "13800138000",
 "custom": {{"sheng_ri": "2015-03-04", "xiao_qu": "徐汇", "shang_ke_ri": ["周六", "周日"],
            "xue_fei": "12800.00", "nian_ji": 3, "ke_cheng_gu_wen": "zhao"}}}}
```

| kind | value |
|---|---|
| text, long text, URL, single choice | text (a choice: one of its options) |
| number | a number |
| money | text with at most two decimals, `"12800.00"` (a number is accepted too) |
| date | `"2015-03-04"` (`"2015/3/4"` and `"2015年3月4日"` are understood) |
| multiple choice | a list of its options |
| member | a member's username, as `owner` |

Creating (`POST`) and changing (`PATCH`) take the same object: the keys sent change, `null` or
`""` clears a value, the keys not sent keep theirs. A value that does not fit its field, an
unknown key or a required field left empty (on creating) answers 400 `invalid` with each one in
`fields` as `custom.<key>`, and nothing changes. With `?upsert=true`, values fill only the
fields the contact has none of, as the other fields do. A contact holds only the keys it has a
value of. An audience (`POST /api/v1/audiences`) may hold conditions on these fields in its own
`custom`, written as the contact list's filters write them:
`{{"cf_xiao_qu": "徐汇", "cf_sheng_ri__min": "2015-01-01"}}`.

## Consent to be contacted

Each contact's consent per channel (`email`, `sms`, `phone` calls, `wechat`) is `granted`,
`withdrawn` or `unknown`, kept as history. `GET /api/v1/contacts/{{id}}/consent` reads it;
`POST /api/v1/contacts/{{id}}/consent` with `{{"channel": "sms", "granted": false}}` records a
withdrawal (any token), `"granted": true` a grant (an admin's or a marketer's token; else 403).
Audiences that require consent on a channel leave out everyone without a standing grant there.

## Tags

`GET /api/v1/tags` lists the company's tags with their group, colour and aliases (a contact
may be tagged by any of them); `GET /api/v1/tag-groups` the groups with their tags. Admins'
and marketers' tokens may create and rename them, as on the tag settings page (others: 403):

```
POST  /api/v1/tag-groups      {{"label": "渠道", "colour": "#2e90fa"}}
POST  /api/v1/tags            {{"label": "抖音", "group": "渠道", "aliases": ["douyin"]}}
PATCH /api/v1/tags/{{id}}       {{"label": "抖音直播"}}     (contacts keep it; `key` stays)
```

`POST /api/v1/contacts/{{id}}/tags` with `{{"tags": ["抖音", "官网"]}}` tags a contact, all or
none: an unknown name answers 400 naming it. With `"create_missing": true`, unknown tags are
created first, in the group an admin chose under **Settings → API and webhooks** ("Tags created
over the API go into …"); without that choice the answer is a 400 that says so, and creating
needs an admin's or a marketer's token.

## The company's words

`GET /api/v1/stages` gives the seven stages in order (`key`, the company's `label`, its
`aliases`, `order`); `GET /api/v1/custom-fields` the company's own fields (`key`, `label`,
`kind`, `required`, `options`); `GET /api/v1/members` the members (`username`, `name`, `role`)
a request names as `owner`, a task's `assignee` or a member field.

## Activities and tasks

What a salesperson does with a contact, as on its page (any token of the company):

```
POST /api/v1/contacts/{{id}}/activities
     {{"kind": "call", "text": "问了价格", "outcome": "Interested",
      "follow_up": {{"title": "周五回电", "due_at": "2026-03-06T10:00:00+08:00"}}}}
POST /api/v1/contacts/{{id}}/tasks
     {{"title": "寄试听券", "due_at": "2026-03-06T10:00:00", "assignee": "zhao"}}
POST /api/v1/tasks/{{id}}/complete     (and /reopen)
```

`kind` is `note`, `call`, `meeting`, `wechat` or `visit`; an activity needs `text` or
`outcome` and cannot be in the future. A time without a zone is the company's local time. A
task is for the token's member unless `assignee` names another (who is told, as on the pages).
`GET /api/v1/contacts/{{id}}/activities`, `/tasks` (`?status=open|done|all`) and `/events`
list them; `GET /api/v1/tasks?assignee=me` the open tasks of the token's member (or of a
username; without it, the company's). Each contact carries its `activity`: `status` (`new`,
`active`, `loyal`, `at_risk`, `churned`, `dormant`), `at_risk`, `last_seen_at` (its latest
event), `last_activity_at` (its latest call, visit…), `open_tasks`, and its `tier`.

## Unknown addresses and methods

Anything under `/api/v1/` that is not a call above answers the JSON error shape: 404
`not_found` for an unknown address, 405 `method_not_allowed` (with `Allow`) for a method the
address does not take. CSRF does not apply: the API authenticates by token only, never by a
browser's session.

## Webhooks

An admin registers addresses under **Settings → API and webhooks** and picks the events (the
list and an example of each follow). Each delivery is a POST of JSON:

```json
{{"id": "9001", "type": "contact.stage_changed", "occurred_at": "2026-03-01T08:00:00Z",
 "company": "english-school",
 "data": {{"contact": {{"id": 42, "stage": "lead", "…": "…"}}, "from_stage": "subscriber",
          "to_stage": "lead", "to_stage_label": "潜在客户", "reason": "", "channel": "api"}}}}
```

`id` is the delivery's id, the same on every retry and resend: use it to ignore repeats.
`occurred_at` is when it happened; `data.contact` is the contact as the API shows it, as it is
when the delivery is sent (`{{"id": …}}` alone once it was deleted or merged into another).
Answer with any 2xx within 5 seconds. Anything else (including redirects, which are not
followed) is retried after 1, 2, 4, 8 … minutes (at most 6 hours apart) up to 12 times; admins
see each delivery's status and last error, and can send it again.

### Signatures (Standard Webhooks)

Deliveries are signed as [Standard Webhooks](https://www.standardwebhooks.com) says, so its
verifiers (Python, Node, Go, PHP, Ruby, Java…) check them as they are:

| header | value |
|---|---|
| `webhook-id` | the delivery's id (as `id` in the body; the same on each retry and resend) |
| `webhook-timestamp` | when this attempt was sent, in Unix seconds |
| `webhook-signature` | `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` |

The key is the endpoint's **Standard Webhooks secret** (`whsec_…`), shown on the webhook's
settings page; it is the endpoint's secret written in standard base64. Refuse a timestamp more
than 5 minutes away (the verifiers do): it is a replay.

```python
{STANDARD_SNIPPET}
```

### The old signature: one more release

`X-Funnel-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
endpoint's secret as shown under "X-Funnel-Signature", is still sent beside the headers above,
with `X-Funnel-Event` and `X-Funnel-Delivery` (the delivery's id), **for one more release
only**: move your receiver to `webhook-signature`. Until then this checks it:

```python
{VERIFY_SNIPPET}
# e.g. in Django: verify(SECRET, request.body, request.headers["X-Funnel-Signature"])
```

### Events

{EVENTS_DOC}
"""
