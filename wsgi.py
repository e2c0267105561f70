import gc
import os

from app import create_app

app = create_app()

# What start-up built (mappers, compiled templates, config) lives as long as the process:
# freeze it out of the cyclic collector, whose full passes otherwise walk it all (pauses of
# ~150 ms in the middle of a request, measured on the filtered board; bench/README.md).
gc.collect()
gc.freeze()
# A page allocates tens of thousands of container objects (rows, dicts, template frames), so
# at Python's default gen-0 threshold of 700 the collector ran dozens of times per request,
# and every tenth of those promoted a request's live objects up to a full (gen-2) pass of
# 24-29 ms (the filtered board's p99). At 50,000 a collection runs about once per page and
# finds that page's objects already freed by reference counting. GC_GEN0_THRESHOLD=700 is
# Python's default (for comparing: bench/README.md, "HTTP load").
gc.set_threshold(int(os.environ.get("GC_GEN0_THRESHOLD", "50000")), *gc.get_threshold()[1:])
