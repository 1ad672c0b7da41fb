"""Security headers: a strict Content-Security-Policy everywhere, tenant pages kept out of caches,
and templates that need nothing the policy forbids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

STRICT_POLICY = {
    "default-src 'self'", "img-src 'self' data:", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
}


def _directives(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")}


def test_pages_send_the_strict_content_security_policy(client, csm):
    assert _directives(client.get("/auth/login/")["Content-Security-Policy"]) == STRICT_POLICY
    client.force_login(csm)
    assert _directives(client.get("/o/flowfuse/accounts/")["Content-Security-Policy"]) == STRICT_POLICY


@pytest.mark.parametrize("path", ["/o/flowfuse/", "/o/flowfuse/accounts/", "/o/flowfuse/tasks/"])
def test_tenant_pages_are_kept_out_of_every_cache(client, csm, path):
    client.force_login(csm)
    response = client.get(path)
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    # An htmx fragment of the same page too.
    fragment = client.get(path, HTTP_HX_REQUEST="true")
    assert {"private", "no-store"} <= {part.strip() for part in fragment["Cache-Control"].split(",")}


# What the policy refuses in markup: inline scripts, inline styles, event-handler attributes.
FORBIDDEN_IN_TEMPLATES = {
    "an inline <script> (put it in a static file)": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "a <style> block (put it in tend.css)": re.compile(r"<style\b", re.I),
    "a style attribute (use a class in tend.css)": re.compile(r"\sstyle\s*=", re.I),
    "an on… event handler (listen from a static script)": re.compile(r"\son[a-z]+\s*=", re.I),
    "an hx-on handler (htmx may not eval)": re.compile(r"\b(data-)?hx-on", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}
DJANGO_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.S)


def _our_templates() -> list[Path]:
    roots = [settings.BASE_DIR / "templates", *settings.BASE_DIR.glob("*/templates")]
    return sorted(path for root in roots for path in root.rglob("*.html"))


def test_no_template_needs_what_the_policy_forbids():
    templates = _our_templates()
    assert len(templates) > 40  # the search found them
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {what}"
        for path in templates
        for what, pattern in FORBIDDEN_IN_TEMPLATES.items()
        if pattern.search(DJANGO_COMMENT.sub("", path.read_text()))
    ]
    assert found == []
