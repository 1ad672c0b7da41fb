"""Reading a rendered page as a browser would submit it: its forms, their fields and choices.

The sweeps use it to send each page's own forms back, filled as a person would fill
them, without a test per form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

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
UNSUBMITTED = {"submit", "button", "reset", "image", "file"}


@dataclass
class Form:
    action: str
    method: str
    # name -> the values the page would submit as it stands.
    values: dict[str, list[str]] = field(default_factory=dict)
    # name -> every value a select or radio group offers.
    choices: dict[str, list[str]] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)
    # The buttons' name=value pairs (a form may have several actions).
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def filled(self) -> dict[str, list[str]]:
        """The form as submitted by someone who fills every required field, with the first button."""
        data = {name: list(values) for name, values in self.values.items()}
        for name in self.required:
            if not any(value.strip() for value in data.get(name, [])):
                options = [choice for choice in self.choices.get(name, []) if choice]
                data[name] = [options[0] if options else TYPED.get(self.types.get(name, ""), TYPED_TEXT)]
        named = [(name, value) for name, value in self.buttons if name]
        if named:
            data.setdefault(named[0][0], [named[0][1]])
        return data


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        # The option being read: its value attribute (None: its text is the value), whether selected.
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = urlsplit(urljoin(self.page_url, a.get("action") or self.page_url)).path
            self._form = Form(action=action, method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "disabled" in a:
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image"):
                form.buttons.append((name, a.get("value", "")))
                return
            if not name or kind in UNSUBMITTED:
                return
            form.types[name] = kind
            if "required" in a:
                form.required.add(name)
            if kind in ("checkbox", "radio"):
                if kind == "radio":
                    form.choices.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.values.setdefault(name, []).append(a.get("value", "on"))
            else:
                form.values.setdefault(name, []).append(a.get("value", ""))
        elif tag == "button":
            if a.get("type", "submit").lower() == "submit":
                form.buttons.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
            form.types[name] = "select"
            form.choices.setdefault(name, [])
            if "required" in a:
                form.required.add(name)
        elif tag == "option" and self._select:
            self._option = (a["value"] if "value" in a else None, "selected" in a)
            self._option_text = ""
        elif tag == "textarea" and name:
            self._textarea = name
            form.types[name] = "textarea"
            form.values.setdefault(name, []).append("")
            if "required" in a:
                form.required.add(name)

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option_text += data
        if self._textarea and self._form is not None:
            self._form.values[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option" and self._select and self._form is not None and self._option is not None:
            value, selected = self._option
            value = self._option_text.strip() if value is None else value
            self._form.choices[self._select].append(value)
            if selected:
                self._form.values.setdefault(self._select, []).append(value)
            self._option = None
        elif tag == "select" and self._select and self._form is not None:
            # Nothing marked selected: a browser submits the first option.
            if self._select not in self._form.values and self._form.choices[self._select]:
                self._form.values[self._select] = [self._form.choices[self._select][0]]
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str, page_url: str) -> list[Form]:
    """The page's forms, with actions resolved against ``page_url`` (paths only)."""
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms


def post_forms(html: str, page_url: str) -> list[Form]:
    """The page's POST forms (those that change something)."""
    return [form for form in forms_of(html, page_url) if form.method == "post"]


def post_forms_to(html: str, page_url: str, target: str) -> list[Form]:
    """The page's POST forms that submit to ``target`` (a path)."""
    return [form for form in post_forms(html, page_url) if form.action == target]
