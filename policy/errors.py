"""The refusal the link policy raises; the API answers it as a 400 naming the field."""

from __future__ import annotations

from blogorder.errors import ApplicationError


class LinkRefused(ApplicationError):
    """The link breaks the publisher's policy (a blocked domain or niche, or a niche the article refuses).

    ``fields`` names the one field that matched, with the rule in words; nothing was written.
    """

    code = "link_refused"
