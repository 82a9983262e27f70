"""The words on the docs page (/api/v1/docs): how to authenticate, what errors look like, how
pages and webhooks work. The verification snippet is the one the tests run."""

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

## Webhooks

An admin registers addresses under **Settings → API and webhooks** and picks the events:
`contact.created`, `contact.stage_changed`, `contact.tagged`, `audience.entered`,
`audience.left`. Each delivery is a POST of JSON:

```json
{{"id": "9001", "type": "contact.stage_changed", "occurred_at": "2026-03-01T08:00:00Z",
 "company": "english-school",
 "data": {{"contact": {{"id": 42, "stage": "lead", "…": "…"}}, "from_stage": "subscriber",
          "to_stage": "lead", "to_stage_label": "潜在客户", "reason": "", "channel": "api"}}}}
```

with the headers `X-Funnel-Event`, `X-Funnel-Delivery` (the same id on every retry: use it to
ignore repeats) and `X-Funnel-Signature: t=<unix time>,v1=<signature>`, where the signature is
the hex HMAC-SHA256, keyed with the endpoint's secret, of the timestamp, a dot and the raw body.
Answer with any 2xx within 5 seconds. Anything else (including redirects, which are not
followed) is retried after 1, 2, 4, 8 … minutes (at most 6 hours apart) up to 12 times; admins
see each delivery's status and last error, and can send it again. Verify each delivery before
trusting it:

```python
{VERIFY_SNIPPET}
# e.g. in Django: verify(SECRET, request.body, request.headers["X-Funnel-Signature"])
```
"""
