"""Keyed equality lookups on encrypted values (a "blind index").

The database can enforce "no two clients of one clinician share a record number" without
holding the number: it stores HMAC(index key, scope + normalised value). It reveals only
equality within a scope, which the uniqueness rule reveals anyway.
"""

from __future__ import annotations

import hashlib
import hmac


def blind_index(index_key: bytes, scope: str, value: str) -> str:
    normalised = " ".join(value.split()).casefold()
    message = f"{scope}\x00{normalised}".encode()
    return hmac.new(index_key, message, hashlib.sha256).hexdigest()
