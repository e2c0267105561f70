"""Every form and query parameter of the app, fed hostile values: never a 5xx, and a
refused request (4xx) changes no row.

The forms are found from the app itself, not listed here: the pages each role can reach
are crawled from its home page (links and htmx `hx-get`s), every `<form>` (and every
element that posts on its own through `hx-post`) is parsed with its fields and the
values the page rendered, and each field in turn gets each hostile value while the
other fields keep their rendered (valid) values. The same for every query parameter
the crawled links carry, plus `?q=`. A new form is therefore covered as soon as a page
renders it. Every request runs in a savepoint rolled back afterwards, so each one starts
from the same data, and "no row changed" is checked against that data.
"""
from __future__ import annotations

import io
import json
import os
import re
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import text

from app.auth.models import User, UserRole
from tests.conftest import ROOT
from tests.factories import csrf_token, login

HOSTILE = {  # what goes into a text field, one value at a time
    "nul": "abc\x00def",
    "10k": "x" * 10_000,
    "1e400": "1e400",
    "Infinity": "Infinity",
    "sNaN": "sNaN",
    "40 digits": "9" * 40,
    "-1": "-1",
    "rtl+emoji": "\u202eevil\u202c 😀🚚",
    "script": "<script>alert(1)</script>",
    "sql": "' OR 1=1--",
    "empty": "",
    "blank": "   ",
}
# numbers also get these; a choice (select, checkbox, button) gets only CHOICE_VALUES
NUMBER_EXTRA = {"NaN": "NaN", "-0": "-0", "3 decimals": "1.005"}
CHOICE_VALUES = ("nul", "10k", "1e400", "sNaN", "40 digits", "-1", "empty")


def values_for(kind: str) -> dict[str, str]:
    if kind == "choice":
        return {label: HOSTILE[label] for label in CHOICE_VALUES}
    return {**HOSTILE, **NUMBER_EXTRA} if kind == "number" else HOSTILE


ROLES = (UserRole.ADMIN, UserRole.REP, UserRole.OPERATOR)
PER_PATTERN = 3  # pages visited per URL pattern (e.g. three invoices: draft, sent, paid)
MAX_PAGES = 400
SKIPPED_FIELDS = {"csrf_token"}  # CSRF has its own tests; a wrong token is always a 400
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ----------------------------------------------------------------------------- parsing

@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # name: "text", "number" or "choice"
    htmx: bool = False
    multipart: bool = False
    dom_id: str | None = None
    files: list[str] = field(default_factory=list)  # file inputs: fuzzed with hostile contents
    options: dict[str, tuple] = field(default_factory=dict)  # a select's option values

    def names(self) -> list[str]:
        return list(dict.fromkeys(n for n, _ in self.fields if n not in SKIPPED_FIELDS))

    def fuzzed_names(self) -> list[str]:
        """The fields to fuzz: selects with the same options (the import's 29 column
        pickers) behave alike, so the first of them stands for the rest."""
        seen: set[tuple] = set()
        names = []
        for name in self.names():
            options = self.options.get(name)
            if options is not None and options in seen:
                continue
            if options is not None:
                seen.add(options)
            names.append(name)
        return names

    def key(self, app) -> tuple:
        """The same form on many pages (or for many kinds) is fuzzed once."""
        return (self.method, endpoint(app, self.action, self.method), tuple(sorted(self.names())))


@dataclass
class Page:
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    # an htmx GET's query parameters: the element's own name, hx-include and hx-vals
    hx_params: list[tuple[str, set[str]]] = field(default_factory=list)


class PageParser(HTMLParser):
    """The links and forms of one page, with the values the page rendered."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.page = Page()
        self.form: Form | None = None
        self.by_id: dict[str, Form] = {}
        self.late: list[tuple[str, dict]] = []  # elements outside their form (form="id")
        self.select: tuple[Form, str, list] | None = None  # form, name, [(value, selected)]
        self.option: dict | None = None
        self.textarea: tuple[Form, str, list[str]] | None = None
        self.names_by_id: dict[str, str] = {}
        self.includes: list[tuple[set[str], list[str]]] = []  # (names, ids to resolve)

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if a.get("id") and a.get("name"):
            self.names_by_id[a["id"]] = a["name"]
        if "hx-get" in a and tag != "form":
            names = {a["name"]} if a.get("name") else set()
            names |= set(re.findall(r"\[name=['\"]?([\w-]+)", a.get("hx-include", "")))
            names |= set(json.loads(a["hx-vals"])) if a.get("hx-vals", "").startswith("{") else set()
            self.page.hx_params.append((a["hx-get"], names))
            self.includes.append((names, re.findall(r"#([\w-]+)", a.get("hx-include", ""))))
        for attr in ("href", "hx-get"):
            if attr in a and (tag != "form" or attr == "href"):
                self.page.links.append(a[attr])
        if tag == "form":
            self.form = self._new_form(a, a.get("method", "get"))
            return
        if tag in ("input", "select", "textarea", "button"):
            owner = self.form
            if a.get("form"):
                self.late.append((tag, a))
                owner = None
            elif owner is None and "hx-post" in a:  # an element that posts on its own
                owner = self._new_form(a, "post")
            if owner is not None:
                self._field(owner, tag, a)
        elif tag == "option" and self.select is not None:
            self.option = {"value": a.get("value"), "selected": "selected" in a, "text": []}

    def _new_form(self, a: dict, method: str) -> Form:
        htmx_post = a.get("hx-post")
        action = htmx_post or a.get("action") or a.get("hx-get") or self.url
        method = "post" if htmx_post else ("get" if a.get("hx-get") and not a.get("action") else method)
        form = Form(method=method.lower(), action=action, htmx=bool(htmx_post or a.get("hx-get")),
                    multipart="multipart" in (a.get("enctype", "") + a.get("hx-encoding", "")),
                    dom_id=a.get("id"))
        self.page.forms.append(form)
        if form.dom_id:
            self.by_id[form.dom_id] = form
        return form

    def _field(self, form: Form, tag: str, a: dict) -> None:
        name = a.get("name")
        if tag == "select":
            if name:
                self.select = (form, name, [])
            return
        if not name:
            return
        if tag == "textarea":
            self.textarea = (form, name, [])
            return
        kind = a.get("type", "submit" if tag == "button" else "text").lower()
        if kind in ("checkbox", "radio") and "checked" not in a:
            return
        if kind in ("submit", "image", "reset", "button"):
            if tag == "button" or kind == "submit":
                if not any(n == name for n, _ in form.fields):  # the first submit button speaks
                    form.fields.append((name, a.get("value", "")))
                    form.kinds[name] = "choice"
            return
        if kind == "file":
            form.multipart = True
            form.files.append(name)
            return
        form.fields.append((name, a.get("value", "")))
        numeric = kind == "number" or a.get("inputmode") in ("decimal", "numeric")
        form.kinds[name] = "choice" if kind in ("checkbox", "radio") else ("number" if numeric else "text")

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[2].append(data)
        if self.option is not None:
            self.option["text"].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "textarea" and self.textarea is not None:
            form, name, parts = self.textarea
            form.fields.append((name, "".join(parts).removeprefix("\n")))
            form.kinds[name] = "text"
            self.textarea = None
        elif tag == "option" and self.option is not None and self.select is not None:
            value = self.option["value"]
            self.select[2].append((value if value is not None else "".join(self.option["text"]).strip(),
                                   self.option["selected"]))
            self.option = None
        elif tag == "select" and self.select is not None:
            form, name, options = self.select
            chosen = [v for v, sel in options if sel] or [v for v, _ in options[:1]]
            form.fields.extend((name, v) for v in chosen)
            form.kinds[name] = "choice"
            form.options[name] = tuple(v for v, _ in options)
            self.select = None

    def close(self):
        super().close()
        for names, ids in self.includes:
            names.update(self.names_by_id[i] for i in ids if i in self.names_by_id)
        for tag, a in self.late:
            form = self.by_id.get(a["form"])
            if form is not None:
                self._field(form, tag, a)


def endpoint(app, url: str, method: str) -> str:
    from werkzeug.exceptions import HTTPException

    try:
        return app.url_map.bind("localhost").match(urlsplit(url).path, method.upper())[0]
    except HTTPException:
        return pattern(url)


def pattern(url: str) -> str:
    path = urlsplit(url).path
    path = UUID.sub("{id}", path)
    return re.sub(r"/[A-Za-z0-9_\-.]{24,}(?=/|$)", "/{token}", re.sub(r"/\d+(?=/|$)", "/{n}", path))


# ----------------------------------------------------------------------------- the data

def table_fingerprint(session) -> dict[str, tuple]:
    """Per table: its row count and the newest transaction id among its rows. Every
    request runs in a savepoint of its own (a new subtransaction id), so an inserted or
    updated row raises the maximum and a deleted one lowers the count."""
    tables = session.execute(text(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'alembic_version' ORDER BY 1")).scalars().all()
    query = " UNION ALL ".join(
        f"SELECT '{t}', count(*), coalesce(max(xmin::text::bigint), 0) FROM {t}" for t in tables)
    return {name: (count, newest) for name, count, newest in session.execute(text(query))}


def tuples_written(session) -> int:
    """Rows inserted, updated or deleted so far in this transaction (rolled-back ones too):
    a cheap check before the exact fingerprint."""
    return session.execute(text(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables")).scalar()


class Fuzzer:
    def __init__(self, app, client, db_session):
        self.app, self.client, self.session = app, client, db_session
        self.failures: list[str] = []
        self.requests = 0
        self.statuses: dict = defaultdict(lambda: defaultdict(int))
        self.user: User | None = None
        self.token = ""
        self.base_fingerprint: dict | None = None
        self.written: int | None = None  # tuples written in the transaction after the last request

    def sign_in(self, user: User | None) -> None:
        self.user = user
        with self.client.session_transaction() as session:
            session.clear()
        if user is not None:
            login(self.client, user)
        self.token = csrf_token(self.client, self.app)

    def _restore_session(self) -> None:
        """A request may sign out (logout, session version): sign in again."""
        with self.client.session_transaction() as session:
            if self.user is not None and "_user_id" not in session:
                session["_user_id"] = self.user.get_id()
                session["_fresh"] = True

    @contextmanager
    def isolated(self):
        """The request's writes live in a savepoint rolled back afterwards."""
        self.session.commit()  # the test's own savepoint: released, its rows stay
        connection = self.session.get_bind()
        savepoint = connection.begin_nested()
        try:
            yield
        finally:
            self.session.rollback()
            savepoint.rollback()
            self.session.expire_all()

    def request(self, method: str, url: str, data=None, htmx=False, label="", check_rows=True, multipart=False):
        self._restore_session()
        headers = {"X-CSRFToken": self.token}
        if htmx:
            headers["HX-Request"] = "true"
        with self.isolated():
            if self.written is None:
                self.written = tuples_written(self.session)
            written = self.written
            if method == "get":
                response = self.client.get(url, headers=headers)
            else:
                response = self.client.post(url, data=data, headers=headers,
                                            content_type="multipart/form-data" if multipart else None)
            self.requests += 1
            self.statuses[(method, pattern(url))][response.status_code] += 1
            who = self.user.role.value if self.user else "public"
            if not 100 <= response.status_code < 500:  # (a view's own number as the status: 0, 9999...)
                self.failures.append(f"{response.status_code} {who} {method.upper()} {pattern(url)} {label}")
            self.written = tuples_written(self.session)
            if check_rows and 400 <= response.status_code < 500 and self.written != written:
                if table_fingerprint(self.session) != self.base_fingerprint:
                    self.failures.append(f"rows changed on {response.status_code}: {who} {method.upper()} "
                                         f"{pattern(url)} {label}")
        return response

    # ------------------------------------------------------------------- crawling

    def crawl(self, start: list[str]) -> tuple[list[tuple[str, Form]], dict[str, set[str]]]:
        """(page url, form) pairs and the query parameters the links use, per path."""
        seen_urls: set[str] = set()
        per_pattern: dict[tuple, int] = defaultdict(int)
        queue = list(start)
        forms: list[tuple[str, Form]] = []
        params: dict[str, set[str]] = defaultdict(set)
        params_urls: dict[str, str] = {}
        while queue and len(seen_urls) < MAX_PAGES:
            url = queue.pop(0)
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
                continue
            if parts.path.startswith(("/static/", "/logout", "/webhooks/")):
                continue
            url = parts.path + (f"?{parts.query}" if parts.query else "")
            query_keys = tuple(sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}))
            for key in query_keys:
                params[pattern(url)].add(key)
                params_urls.setdefault(pattern(url), parts.path)
            key = (pattern(url), query_keys)
            if url in seen_urls or per_pattern[key] >= PER_PATTERN:
                continue
            seen_urls.add(url)
            per_pattern[key] += 1
            response = self.request("get", url, check_rows=False, label="(crawl)")
            if response.status_code in (301, 302, 303) and response.location:
                queue.append(response.location)
            if response.status_code != 200 or not response.mimetype == "text/html":
                continue
            parser = PageParser(url)
            parser.feed(response.get_data(as_text=True))
            parser.close()
            queue.extend(parser.page.links)
            for hx_url, names in parser.page.hx_params:
                params[pattern(hx_url)].update(names)
                params_urls.setdefault(pattern(hx_url), urlsplit(hx_url).path)
            forms.extend((url, f) for f in parser.page.forms)
            for f in parser.page.forms:
                if f.method == "get":
                    queue.append(f.action)
        self.param_paths = params_urls
        return forms, params

    # ------------------------------------------------------------------- fuzzing

    def fuzz_form(self, form: Form) -> None:
        base = [(n, v) for n, v in form.fields if n != "csrf_token"]  # the page's token is older
        base.append(("csrf_token", self.token))
        self.send(form, base, label="(as rendered)")
        for name in form.fuzzed_names():
            for label, value in values_for(form.kinds.get(name, "text")).items():
                fuzzed = [(n, v) for n, v in base if n != name] + [(name, value)]
                self.send(form, fuzzed, label=f"{name}={label}")
        for name in form.files:
            for label, value in HOSTILE.items():
                self.send(form, base, label=f"file {name}={label}",
                          files={name: (io.BytesIO(f"code,name\n{value},{value}\n".encode()), f"{label}.csv")})

    def send(self, form: Form, pairs: list[tuple[str, str]], label: str, files: dict | None = None) -> None:
        if form.method == "get":
            action = urlsplit(form.action)
            query = [(n, v) for n, v in parse_qsl(action.query, keep_blank_values=True)
                     if n not in {p for p, _ in pairs}] + [p for p in pairs if p[0] != "csrf_token"]
            self.request("get", f"{action.path}?{urlencode(query)}", htmx=form.htmx, label=label)
            return
        data: dict = defaultdict(list)
        for n, v in pairs:
            data[n].append(v)
        payload = {n: (vs if len(vs) > 1 else vs[0]) for n, vs in data.items()}
        self.request("post", form.action, data={**payload, **(files or {})}, htmx=form.htmx, label=label,
                     multipart=form.multipart)

    def fuzz_params(self, path: str, names: set[str]) -> None:
        for name in sorted(names):
            for label, value in HOSTILE.items():
                self.request("get", f"{path}?{urlencode({name: value})}", label=f"?{name}={label}")


# ----------------------------------------------------------------------------- the test

def _public_links(factory, db_session) -> list[str]:
    """Pages a signed-out visitor reaches by link: two pay pages (one to sign, one signed
    that takes a partial amount) and an invite."""
    from app.auth.services import invite_token
    from app.billing.payments import set_payment_options
    from app.billing.signing import shown_hashes, sign_invoice
    from tests.integration.test_payments import make_invoice

    _, unsigned = make_invoice(factory)
    signed, token = make_invoice(factory)
    agreement, content, _ = shown_hashes(signed)
    sign_invoice(signed, name="Tanya Brooks", consent=True, ip_addr="203.0.113.7", user_agent="test",
                 agreement_sha256=agreement, content_sha256_shown=content)
    admin = factory.user(UserRole.ADMIN)
    set_payment_options(signed, actor=admin, allow_partial=True, allow_overpayment=False)
    invited = factory.user(password_hash="!pending")
    db_session.flush()
    return ["/login", f"/pay/{unsigned}", f"/pay/{token}", f"/invite/{invite_token(invited)}"]


def _start_pages(fuzzer: Fuzzer, role: UserRole | None, public: list[str]) -> list[str]:
    """Where the crawl of a role starts, plus the pages only a POST leads to: an upload's
    column mapping (admin), the sandbox's checkout page (public)."""
    client = fuzzer.client
    if role is UserRole.ADMIN:
        with open(ROOT / "tests" / "samples" / "google-maps-scrape.csv", "rb") as csv:
            upload = client.post("/companies/import", data={"file": (csv, "leads.csv"), "csrf_token": fuzzer.token},
                                 content_type="multipart/form-data")
        assert upload.status_code in (302, 303), upload.status_code
        return ["/", upload.location]
    if role is None:
        checkout = client.post(f"{public[2]}/checkout", data={"csrf_token": fuzzer.token})
        assert checkout.status_code == 303, checkout.status_code
        return [*public, checkout.location]
    return ["/"]


def test_no_form_or_query_parameter_answers_5xx_or_changes_rows_when_refused(app, client, db_session, factory):
    from sqlalchemy import select

    from app.demo_data import load_demo_data
    from app.extensions import limiter

    started = time.perf_counter()
    load_demo_data(companies=30)
    public = _public_links(factory, db_session)
    db_session.commit()
    fuzzer = Fuzzer(app, client, db_session)
    fuzzer.base_fingerprint = table_fingerprint(db_session)
    limiter.enabled = False  # hundreds of requests a minute from one address is the point here
    try:
        done: set[tuple] = set()
        done_params: set[tuple] = set()
        queries: list[tuple[User | None, str, set[str]]] = []
        work: list[tuple[User | None, Form]] = []
        for role in (*ROLES, None):
            user = (db_session.scalars(select(User).where(User.role == role, User.is_active)
                                       .order_by(User.email)).first() if role else None)
            fuzzer.sign_in(user)
            forms, params = fuzzer.crawl(_start_pages(fuzzer, role, public))
            for _, form in forms:
                if form.key(app) not in done:
                    done.add(form.key(app))
                    work.append((user, form))
            for pat, names in params.items():
                new = {n for n in names | {"q"} if (pat, n) not in done_params}
                done_params.update((pat, n) for n in new)
                if new:
                    queries.append((user, fuzzer.param_paths[pat], new))
        crawled = time.perf_counter()
        for user, form in work:
            fuzzer.sign_in(user)
            fuzzer.fuzz_form(form)
        for user, path, names in queries:
            fuzzer.sign_in(user)
            fuzzer.fuzz_params(path, names)
    finally:
        limiter.enabled = True
    elapsed = time.perf_counter() - started
    print(f"\nfuzz: {len(work)} forms, {sum(len(n) for *_, n in queries)} query parameters, "
          f"{fuzzer.requests} requests, crawl {crawled - started:.1f}s, total {elapsed:.1f}s")
    if os.environ.get("FUZZ_DEBUG"):
        for key, counts in sorted(fuzzer.statuses.items()):
            print(key, dict(counts))
    assert len(work) > 40, [f.action for _, f in work]  # the crawl found the app's forms
    assert not fuzzer.failures, "\n".join(sorted(set(fuzzer.failures)))


def test_the_fingerprint_sees_an_insert_an_update_and_a_delete(app, client, db_session, factory):
    """The fuzz test's "no row changed" rests on this."""
    from app.crm.models import Company

    company = factory.company()
    db_session.commit()
    fuzzer = Fuzzer(app, client, db_session)
    base = table_fingerprint(db_session)
    for change in (lambda: factory.company(),
                   lambda: setattr(db_session.get(Company, company.id), "sales_note", "changed"),
                   lambda: db_session.delete(db_session.get(Company, company.id))):
        with fuzzer.isolated():
            written = tuples_written(db_session)
            change()
            db_session.flush()
            assert tuples_written(db_session) != written
            assert table_fingerprint(db_session) != base
        assert table_fingerprint(db_session) == base
