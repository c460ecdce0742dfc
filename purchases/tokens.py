"""Order access tokens: an HMAC (Django signing, SECRET_KEY) over the order id and a per-order salt.

Nothing secret is stored: the database holds only the salt, so a leaked row cannot be turned
into a token. Any process with SECRET_KEY (web, worker) can make and check one; rotating the
salt revokes every link issued before.
"""

from __future__ import annotations

import secrets

from django.core import signing
from django.utils.crypto import constant_time_compare

_NAMESPACE = "blogorder.order-token"


def new_token_salt() -> str:
    return secrets.token_hex(16)


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=f"{_NAMESPACE}:{salt}", algorithm="sha256")


def make_order_token(*, order_id: object, token_salt: str) -> str:
    """43 URL-safe characters, 256 bits of HMAC-SHA256."""
    return _signer(token_salt).signature(str(order_id))


def check_order_token(*, order_id: object, token_salt: str, token: str | None) -> bool:
    if not token or not token_salt:
        return False
    return constant_time_compare(make_order_token(order_id=order_id, token_salt=token_salt), token)
