"""The one place settings read the process environment."""

from __future__ import annotations

import builtins
import os
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


env = Env()
