"""Imported once by the PDF fork server, so each render starts warm.

Only the fork server imports this; the web process never loads WeasyPrint. The
parent passes what the server needs in its environment (exports.pdf sets it just
before the server starts): the parent's main script and the bundled assets.
"""

import gc
import json
import os
import sys

from exports import worker

worker.isolate_fonts()  # before WeasyPrint loads fontconfig at import

import weasyprint  # noqa: E402, F401

# multiprocessing prepares every child by running the parent's main script again
# (daphne's, manage.py's) unless the server's own __main__ already is that script,
# and in Python 3.11 a fork server never preloads it. The renders need nothing from
# it (their code is in exports.worker), so let the children skip it: that is about
# half a second per PDF.
MAIN = os.environ.get("ATTUNE_PDF_PARENT_MAIN")
if MAIN:
    sys.modules["__main__"].__file__ = MAIN

ASSETS = os.environ.get("ATTUNE_PDF_ASSETS")
if ASSETS:
    settings = json.loads(ASSETS)
    worker.warm_up(settings["assets"], settings["base_url"], settings["stylesheet"])

# Keep the preloaded objects out of the collector, so children do not copy the
# server's memory page by page when they collect garbage.
gc.freeze()
