"""The one place settings read the process environment."""

from __future__ import annotations

import builtins
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class Env:
    """Typed access to environment variables with explicit defaults."""

    def str(self, name: builtins.str, default: builtins.str = "") -> builtins.str:
        """An empty value counts as unset, so compose's ``VAR=${VAR:-}`` keeps the default."""
        return os.environ.get(name, "").strip() or default

    def bool(self, name: builtins.str, default: bool = False) -> bool:
        raw = os.environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        value = raw.strip().lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")

    def int(self, name: builtins.str, default: int) -> int:
        raw = os.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc

    def decimal(self, name: builtins.str, default: builtins.str) -> Decimal:
        raw = os.environ.get(name, "").strip() or default
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise ImproperlyConfigured(f"{name} must be a decimal number, got {raw!r}") from exc
        if not value.is_finite():
            raise ImproperlyConfigured(f"{name} must be a finite decimal number, got {raw!r}")
        return value

    def list(self, name: builtins.str, default: builtins.list[builtins.str]) -> builtins.list[builtins.str]:
        raw = os.environ.get(name, "").strip()
        if not raw:
            return default
        return [item.strip() for item in raw.split(",") if item.strip()]

    def cap(self, name: builtins.str, default: builtins.int | None) -> builtins.int | None:
        """A count limit: a whole number >= 0, or ``off`` (no limit, ``None``)."""
        raw = os.environ.get(name, "").strip().lower()
        if not raw:
            return default
        if raw == "off":
            return None
        if not raw.isdigit():
            raise ImproperlyConfigured(f"{name} must be a whole number or off, got {raw!r}")
        return int(raw)

    def rate(self, name: builtins.str, default: builtins.str) -> builtins.str:
        """A rate in DRF's format (``20/hour``: a number per second, minute, hour or day) or ``off``.

        Checked here, so a typo stops the start-up instead of turning every request into a 500.
        """
        raw = (os.environ.get(name, "").strip() or default).lower()
        if raw != "off" and not RATE_FORMAT.fullmatch(raw):
            raise ImproperlyConfigured(
                f"{name} must look like 20/hour (per s, min, hour, day) or be off, got {raw!r}"
            )
        return raw


# DRF reads the number and the first letter of the period (s, m, h, d).
RATE_FORMAT = re.compile(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)")

env = Env()
