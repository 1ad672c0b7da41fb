"""Manage an organization's API tokens from the command line (self-hosting, automation).

    manage.py api_token create --org <slug> --label <label>   # the token alone on stdout's last line
    manage.py api_token list --org <slug>
    manage.py api_token revoke --org <slug> <prefix-or-id>
"""

from api.models import ApiToken
from cs_platform.management.credentials import CredentialCommand


class Command(CredentialCommand):
    help = "Create, list or revoke an organization's API tokens."
    noun = "API token"
    model = ApiToken
