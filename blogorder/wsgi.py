"""WSGI entry point; production settings unless DJANGO_SETTINGS_MODULE says otherwise.

Each gunicorn worker imports this module once. Besides the application it loads what the first
requests would load lazily (every view, through the URLconf, and the template engines with their
tag libraries), then freezes what is alive (``load_and_freeze``): see docs/capacity.md, "Web RSS growth".
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blogorder.settings.production")

application = get_wsgi_application()


def load_and_freeze() -> None:
    """Load the views and templates now, and keep what startup left alive out of the garbage collector's way.

    CPython runs a full (oldest generation) collection only once the objects promoted since the
    last one reach a quarter of those that survived it. Left to itself that last count holds the
    ~170,000 objects of the imported code, so a worker let about 40,000 objects of its requests'
    reference cycles pile up (DRF's request and view refer to each other, and hold the page of
    articles) before freeing them: 6-9 MB of RSS that the allocator keeps. Frozen (``gc.freeze``),
    the startup objects are no longer counted nor traversed, and the cycles are freed after a few
    requests. What the first requests would import lazily is loaded first, to be frozen with it.
    """
    from django.template import engines
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  # imports every view and serializer
    engines.all()  # the template engines and their tag libraries
    gc.collect()  # what startup left as garbage is freed, not frozen for good
    gc.freeze()
    gc.collect()  # counts the survivors anew: none outside the frozen ones, so the threshold is small


load_and_freeze()
