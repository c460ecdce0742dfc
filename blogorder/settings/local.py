"""Developer machine: debug on, SQLite and embedded Redis unless told otherwise."""

from blogorder.settings.base import *  # noqa: F403
from blogorder.settings.env import env

DEBUG = env.bool("DJANGO_DEBUG", True)
# `seed_demo` creates the admin/admin superuser here, and nowhere else.
DEMO_ADMIN_DEFAULT_PASSWORD = True
