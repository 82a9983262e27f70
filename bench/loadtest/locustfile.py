"""make loadtest's load generator: locust, in a process of its own (it never imports Django).

What to do comes from the JSON file named by LOADTEST_CONFIG, written by `bench_loadtest`: the
server, each company's admin, a pool of its contacts and its tags, API tokens, the import's file
and columns, the bulk move. Every request is named by its kind (login, dashboard, list, …);
the report groups by that name. Two ways to run it:

- mixed traffic: `Browser` (a member at a screen) and `ApiClient` (an integration with a token)
  in the proportions of their weights, plus one `Importer` and one `BulkMover`, who each do
  their one job once, through the same pages and forms a person would use;
- one page (LOADTEST_PAGE=<name>, or `*` for all in turn): `PageUser` asks for that page as
  fast as the server answers, with a session made beforehand, so no login (a deliberately slow
  password hash) falls inside the measured window.

A request fails when it answers anything but what a person's browser would expect there (a
moved contact's card, a redirect after a form); refusals the app is meant to give under
concurrency (a contact someone else moved a moment ago) are answers, not failures.
"""

import itertools
import json
import os
import random
import re
from http.cookiejar import Cookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

from gevent import sleep
from locust import FastHttpUser, between, constant, task

CONFIG = json.loads(Path(os.environ["LOADTEST_CONFIG"]).read_text())
PAGE = os.environ.get("LOADTEST_PAGE", "")
PASSWORD = CONFIG["password"]
SORTS = ["-created", "created", "-updated", "name", "-name", "-stage_since", "stage_since"]
STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"]
EVENT_KINDS = ["form_submitted", "price_list_downloaded", "trial_booked", "consultation_call"]
VERSION = re.compile(r'name="version" value="(\d+)"')
MOVE_SELECT = re.compile(r'<select id="id_to_stage" name="to_stage">(.*?)</select>', re.S)
MOVE_OPTION = re.compile(r'<option value="(\w+)"[^>]*>(↩ )?')
# users take companies in turn: three in four the big one (600,000 contacts), the rest the others
TURNS = itertools.count()


def company_for_next_user() -> dict:
    n = next(TURNS)
    companies = CONFIG["companies"]
    if n % 4 != 3:
        return companies[0]
    return companies[1 + (n // 4) % (len(companies) - 1)]


def expect(response, *statuses: int) -> None:
    """Inside `catch_response`: a failure unless the status is one of `statuses`."""
    if response.status_code in statuses:
        response.success()
    else:
        response.failure(f"answered {response.status_code}, expected {statuses}")


class Member(FastHttpUser):
    """Logs in through the login form and posts forms with the CSRF token, as a browser does."""

    abstract = True

    def csrf_token(self) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")

    def log_in(self, username: str) -> None:
        self.client.get("/accounts/login/", name="login page")
        with self.client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD,
                  "csrfmiddlewaretoken": self.csrf_token()},
            name="login", allow_redirects=False, catch_response=True,
        ) as response:  # fmt: skip
            expect(response, 302)  # the form again (200) means the login was refused

    def post(self, url: str, data, name: str, *statuses: int, htmx: bool = False, **kwargs):
        headers = {"X-CSRFToken": self.csrf_token()}
        if htmx:
            headers["HX-Request"] = "true"
        if isinstance(data, list):  # repeated fields: encoded here, the client takes dicts only
            data = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        with self.client.post(
            url, data=data, headers=headers, name=name, allow_redirects=False,
            catch_response=True, **kwargs,
        ) as response:  # fmt: skip
            expect(response, *statuses)
            return response


class Browser(Member):
    """A member of a company at a screen: pages, filters, moves, events, tags, now and then a
    fresh login."""

    weight = 5
    wait_time = between(0.2, 1.0)

    def on_start(self):
        self.company = company_for_next_user()
        self.base = f"/t/{self.company['slug']}"
        self.log_in(self.company["username"])

    def contact_id(self) -> int:
        return random.choice(self.company["contacts"])  # noqa: S311 - load, not secrets

    @task(40)
    def dashboard(self):
        self.client.get(f"{self.base}/", name="dashboard")

    @task(60)
    def contact_list(self):
        params = {"sort": random.choice(SORTS)}  # noqa: S311
        if random.random() < 0.5:  # noqa: S311
            params["stage"] = random.choice(STAGES)  # noqa: S311
        if random.random() < 0.5:  # noqa: S311
            params["tag_any"] = random.choice(self.company["tags"])  # noqa: S311
        self.client.get(f"{self.base}/contacts/?{urlencode(params)}", name="list")

    @task(20)
    def search(self):
        # the start of a name (客户123: 客户123, 客户1230…) or of a phone (10000123: 1,000)
        if random.random() < 0.5:  # noqa: S311
            term = f"客户{random.randint(1, 99999)}"  # noqa: S311
        else:
            term = f"10000{random.randint(100, 599)}"  # noqa: S311
        self.client.get(f"{self.base}/contacts/?{urlencode({'q': term})}", name="search")

    @task(20)
    def board(self):
        self.client.get(f"{self.base}/board/", name="board")

    @task(60)
    def contact_page(self):
        self.client.get(f"{self.base}/contacts/{self.contact_id()}/", name="contact page")

    @task(20)
    def move(self):
        """From the contact page: a move forward, or one in four back (with a reason), posted
        as the board posts it (htmx, origin=board)."""
        contact = self.contact_id()
        page = self.client.get(f"{self.base}/contacts/{contact}/", name="contact page")
        select = MOVE_SELECT.search(page.text or "")
        version = VERSION.search(page.text or "")
        if not select or not version:
            return  # lost: no moves offered
        options = MOVE_OPTION.findall(select.group(1))
        forward = [stage for stage, back in options if not back]
        backward = [stage for stage, back in options if back]
        data = {"version": version.group(1), "origin": "board"}
        if backward and (not forward or random.random() < 0.25):  # noqa: S311
            data.update(to_stage=random.choice(backward), reason="loadtest: moved back")  # noqa: S311
        else:
            data["to_stage"] = random.choice(forward)  # noqa: S311
        self.post(f"{self.base}/contacts/{contact}/move/", data, "move", 200, htmx=True)

    @task(15)
    def event(self):
        data = {"kind": random.choice(EVENT_KINDS), "note": "loadtest"}  # noqa: S311
        self.post(f"{self.base}/contacts/{self.contact_id()}/events/", data, "event", 302)

    @task(15)
    def tag(self):
        contact, tag = self.contact_id(), random.choice(self.company["tags"])  # noqa: S311
        if random.random() < 0.5:  # noqa: S311
            url = f"{self.base}/contacts/{contact}/tags/"
            self.post(url, {"tag": tag}, "tag add", 200, htmx=True)
        else:
            url = f"{self.base}/contacts/{contact}/tags/{tag}/remove/"
            self.post(url, {}, "tag remove", 200, htmx=True)

    @task(1)  # a fresh login now and then: about once a run per user
    def login_again(self):
        self.post("/accounts/logout/", {}, "logout", 302)
        self.log_in(self.company["username"])


class ApiClient(FastHttpUser):
    """An integration with its company's token: reads pages and contacts, writes contacts
    (upserts by email, from a bounded set, so repeated runs do not grow the data), notes and
    events."""

    weight = 1
    wait_time = between(0.2, 1.0)

    def on_start(self):
        api = CONFIG["api"][next(TURNS) % len(CONFIG["api"])]
        self.contacts = api["contacts"]
        self.auth = {"Authorization": f"Bearer {api['token']}"}

    def call(self, method: str, url: str, name: str, *statuses: int, body=None):
        with self.client.request(
            method, url, name=name, headers=self.auth, json=body, catch_response=True
        ) as response:
            expect(response, *statuses)

    def contact_id(self) -> int:
        return random.choice(self.contacts)  # noqa: S311

    @task(4)
    def contacts_page(self):
        query = random.choice(["", "?stage=sql", "?limit=100"])  # noqa: S311
        self.call("GET", f"/api/v1/contacts{query}", "api list", 200)

    @task(3)
    def contact(self):
        self.call("GET", f"/api/v1/contacts/{self.contact_id()}", "api contact", 200)

    @task(1)
    def funnel(self):
        self.call("GET", "/api/v1/funnel", "api funnel", 200)

    @task(2)
    def upsert(self):
        n = random.randrange(CONFIG["api_emails"])  # noqa: S311
        body = {"name": f"接口客户{n}", "email": f"loadtest-{n}@example.com",
                "source": "loadtest-api", "notes": f"upserted {random.random()}"}  # noqa: S311  # fmt: skip
        self.call("POST", "/api/v1/contacts?upsert=true", "api upsert", 200, 201, body=body)

    @task(2)
    def patch(self):
        body = {"notes": f"patched {random.random()}"}  # noqa: S311
        self.call("PATCH", f"/api/v1/contacts/{self.contact_id()}", "api patch", 200, body=body)

    @task(1)
    def event(self):
        body = {"kind": random.choice(EVENT_KINDS), "data": {"note": "loadtest"}}  # noqa: S311
        url = f"/api/v1/contacts/{self.contact_id()}/events"
        self.call("POST", url, "api event", 201, body=body)


class Importer(Member):
    """Once: an admin uploads the 100,000-row file, keeps the columns guessed, and starts the
    import, which the Celery worker runs."""

    fixed_count = 1
    wait_time = constant(3600)

    def on_start(self):
        job = CONFIG["import"]
        self.log_in(job["username"])
        base = f"/t/{job['slug']}"
        content = Path(job["file"]).read_bytes()
        response = self.post(
            f"{base}/imports/new/", {}, "import upload", 302,
            files={"file": ("loadtest.csv", content, "text/csv")},
        )  # fmt: skip
        columns = urlparse(response.headers.get("Location", "")).path
        self.client.get(columns, name="import columns")
        mapping = {f"column-{i}": field for i, field in job["mapping"].items()}
        self.post(columns, {**mapping, "create_tags": "on", "owner": ""}, "import start", 302)

    @task
    def done(self):
        pass


class BulkMover(Member):
    """Once, a few seconds in: an admin filters the list down to the 10,000 contacts, selects
    all that match and moves them (back, with a reason, every other run)."""

    fixed_count = 1
    wait_time = constant(3600)

    def on_start(self):
        bulk = CONFIG["bulk"]
        self.log_in(bulk["username"])
        sleep(bulk["after"])
        base = f"/t/{bulk['slug']}"
        filters = [("tag_all", bulk["tag"]), ("stage", bulk["from"]), ("status", "active")]
        self.client.get(f"{base}/contacts/?{urlencode(filters)}", name="list")
        self.client.get(f"{base}/contacts/bulk/count/?{urlencode(filters)}", name="bulk count")
        form = [*filters, ("action", "move"), ("scope", "all"), ("to_stage", bulk["to"]),
                ("reason", "loadtest: the 10,000 moved together")]  # fmt: skip
        self.post(f"{base}/contacts/bulk/", form, "bulk move", 302)

    @task
    def done(self):
        pass


class PageUser(FastHttpUser):
    """One page (LOADTEST_PAGE), or every page in turn (`*`), as fast as it is answered."""

    wait_time = constant(0)

    def on_start(self):
        self.pages = CONFIG["pages"] if PAGE == "*" else {PAGE: CONFIG["pages"][PAGE]}
        host = urlparse(CONFIG["host"]).hostname
        session = CONFIG["sessions"][next(TURNS) % len(CONFIG["sessions"])]
        self.session = Cookie(0, "sessionid", session, None, False, host, False, False, "/",
                              True, False, None, True, None, None, {})  # fmt: skip

    @task
    def page(self):
        name, page = random.choice(list(self.pages.items()))  # noqa: S311
        url = page["url"].format(pick=random.choice(page.get("picks") or [""]))  # noqa: S311
        headers = {"Authorization": f"Bearer {page['token']}"} if page.get("token") else {}
        self.client.cookiejar.clear()  # each request as the page's visitor: logged in or not
        if page.get("session"):
            self.client.cookiejar.set_cookie(self.session)
        with self.client.get(url, name=name, headers=headers, catch_response=True) as response:
            expect(response, 200)
