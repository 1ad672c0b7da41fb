"""Manage an organization's usage write keys from the command line.

    manage.py write_key create --org <slug> --label <label>   # the key alone on stdout's last line
    manage.py write_key list --org <slug>
    manage.py write_key revoke --org <slug> <prefix-or-id>
"""

from cs_platform.management.credentials import CredentialCommand
from usage.models import WriteKey


class Command(CredentialCommand):
    help = "Create, list or revoke an organization's write keys (for sending product usage)."
    noun = "write key"
    model = WriteKey
