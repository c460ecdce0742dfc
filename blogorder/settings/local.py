"""Developer machine: debug on, SQLite and embedded Redis unless told otherwise."""

from blogorder.settings.base import *  # noqa: F403
from blogorder.settings.env import env

DEBUG = env.bool("DJANGO_DEBUG", True)
