"""The WSGI application that `cqs serve` (gunicorn) runs, one per worker process.

Once Django and the URL configuration are loaded, everything made so far (modules, models, URL
patterns, the API's schemas: ~180,000 objects) lives as long as the process. `gc.freeze()` moves
them to the permanent generation, which the garbage collector's collections ignore, so a full
collection scans only what requests leave behind. Without it, a full collection walked all of them
every ~20 s per busy worker and stopped the worker, with all its threads, for ~100 ms (measured
with `gc.callbacks`, issue #3: the p99 of the public lookup). The price: a reference cycle among
those start-up objects is never collected, where reference counting alone cannot free it.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
application = get_wsgi_application()
# Django imports the URL configuration on the first request; load it now so it is frozen too.
get_resolver().url_patterns  # noqa: B018 (reading it imports the URL configuration)
gc.freeze()
