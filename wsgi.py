import gc

from app import create_app

app = create_app()

# What start-up built (mappers, compiled templates, config) lives as long as the process:
# freeze it out of the cyclic collector, whose full passes otherwise walk it all (pauses of
# ~150 ms in the middle of a request, measured on the filtered board; bench/README.md).
gc.collect()
gc.freeze()
