"""Reading a rendered page as a browser would submit it: its forms, their fields and
choices, and the query parameters its links and filter forms use.

The sweeps (tenancy per object, never a 5xx) send each page's own forms back, filled as
a person would fill them, without a test per form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile

# What a person would type into a required field of each input type.
TYPED = {
    "email": "someone@example.com",
    "date": "2026-12-31",
    "number": "1",
    "url": "https://example.com",
    "month": "2026-12",
    "password": "a-long-sweep-password-2026",
}
TYPED_TEXT = "Sweep value"
NOT_VALUES = {"submit", "button", "reset", "image"}
SKIPPED_FIELDS = {"csrfmiddlewaretoken"}


@dataclass
class Form:
    action: str  # the path (and query) it submits to
    method: str
    multipart: bool = False
    # name -> the values a browser would submit as the page stands.
    values: dict[str, list[str]] = field(default_factory=dict)
    # name -> every value a select or radio group offers.
    choices: dict[str, list[str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    # The submit buttons' (name, value) pairs: a form may have several actions.
    buttons: list[tuple[str, str]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return urlsplit(self.action).path

    @property
    def names(self) -> list[str]:
        """The fields a person can change, named buttons included (the CSRF token is not one)."""
        return sorted({*self.types, *self.files, *(name for name, _ in self.buttons if name)} - SKIPPED_FIELDS)

    def filled(self) -> dict[str, list[str]]:
        """The form as submitted by someone who fills every required field, with its first named button."""
        data = {name: list(values) for name, values in self.values.items()}
        for name in self.required - self.files:
            if not any(value.strip() for value in data.get(name, [])):
                options = [choice for choice in self.choices.get(name, []) if choice]
                data[name] = [options[0] if options else TYPED.get(self.types.get(name, ""), TYPED_TEXT)]
        named = [(name, value) for name, value in self.buttons if name]
        if named:
            data.setdefault(named[0][0], [named[0][1]])
        return data

    def with_values(self, values: dict[str, str]) -> tuple[dict | str, dict]:
        """The form as it stands with some fields changed, as ``(data, client.post options)``."""
        data = {name: found[0] for name, found in self.values.items() if found and name not in SKIPPED_FIELDS}
        data.update({name: value for name, value in values.items() if name not in self.files})
        if self.multipart:
            contents = {name: values[name].encode() if name in values else b"a,b\n1,2\n" for name in self.files}
            return {**data, **{name: SimpleUploadedFile("sweep.csv", content) for name, content in contents.items()}}, {}
        return urlencode(data), {"content_type": "application/x-www-form-urlencoded"}


@dataclass
class Page:
    url: str
    forms: list[Form]
    # path -> the query parameters the page's links (and htmx GETs) send there.
    links: dict[str, set[str]]
    # The addresses (path and query) the page's htmx asks for by GET.
    htmx_gets: list[str] = field(default_factory=list)

    def post_forms(self, to: str | None = None) -> list[Form]:
        """The page's POST forms (those that change something), optionally only those submitting to ``to``."""
        return [form for form in self.forms if form.method == "post" and (to is None or form.path == to)]


def _read_control(form: Form, control) -> None:
    name = control.get("name")
    if not name or control.has_attr("disabled"):
        return
    if control.name == "textarea":
        form.types[name] = "textarea"
        form.values.setdefault(name, []).append(control.text)
    elif control.name == "select":
        form.types[name] = "select"
        options = control.find_all("option")
        form.choices[name] = [option.get("value", option.text.strip()) for option in options]
        chosen = [option for option in options if option.has_attr("selected")] or options[:1]
        form.values[name] = [option.get("value", option.text.strip()) for option in chosen]
    else:
        kind = control.get("type", "text").lower()
        if kind in NOT_VALUES:
            return
        if kind == "file":
            form.files.add(name)
            return
        form.types[name] = kind
        if kind in ("checkbox", "radio"):
            if kind == "radio":
                form.choices.setdefault(name, []).append(control.get("value", "on"))
            if control.has_attr("checked"):
                form.values.setdefault(name, []).append(control.get("value", "on"))
        else:
            form.values.setdefault(name, []).append(control.get("value", ""))
    if control.has_attr("required"):
        form.required.add(name)


def read_html(html: str | bytes, url: str) -> Page:
    """The forms and link parameters of a page served at ``url``."""
    soup = BeautifulSoup(html, "html.parser")
    page = Page(url=url, forms=[], links={})
    for element in soup.find_all(attrs={"hx-get": True}):
        address = urlsplit(urljoin(url, element["hx-get"]))
        page.htmx_gets.append(address.path + (f"?{address.query}" if address.query else ""))
    for link in soup.find_all(attrs={"href": True}) + soup.find_all(attrs={"hx-get": True}):
        for address in (link.get("href"), link.get("hx-get")):
            if address and "?" in address:
                path = urlsplit(urljoin(url, address)).path
                page.links.setdefault(path, set()).update(name for name, _ in parse_qsl(urlsplit(address).query, keep_blank_values=True))
    for element in soup.find_all("form"):
        hx_post, hx_get = element.get("hx-post"), element.get("hx-get")
        method = "post" if hx_post else "get" if hx_get else element.get("method", "get").lower()
        action = urlsplit(urljoin(url, hx_post or hx_get or element.get("action") or url))
        form = Form(
            action=action.path + (f"?{action.query}" if action.query else ""), method=method,
            multipart=element.get("enctype") == "multipart/form-data",
        )
        for control in element.find_all(["input", "select", "textarea", "button"]):
            if control.name == "button" or control.get("type", "").lower() in ("submit", "image"):
                if control.get("type", "submit").lower() == "submit":
                    form.buttons.append((control.get("name", ""), control.get("value", "")))
            else:
                _read_control(form, control)
        page.forms.append(form)
    return page
