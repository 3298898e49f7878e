"""A password store for the real-Krita tests, where there is no Secret Service: a JSON file
named by AI_DIFFUSION_TEST_KEYRING, chosen with PYTHON_KEYRING_BACKEND=krita_test_keyring.FileKeyring.

Holds only the stand-ins' fake keys; it lets a test check what the plugin saved and give a later
Krita start a saved key, as a painter's system password store would."""

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1

    def _path(self):
        return os.environ["AI_DIFFUSION_TEST_KEYRING"]

    def _load(self):
        try:
            with open(self._path()) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _save(self, items):
        with open(self._path(), "w") as f:
            json.dump(items, f, indent=1)

    def get_password(self, service, username):
        return self._load().get(f"{service}/{username}")

    def set_password(self, service, username, password):
        items = self._load()
        items[f"{service}/{username}"] = password
        self._save(items)

    def delete_password(self, service, username):
        items = self._load()
        if items.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._save(items)
