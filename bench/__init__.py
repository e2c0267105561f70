"""Benchmarks at the scale of a real pipeline: a data generator and a latency harness.

`python -m bench.generate` fills a database (150k leads, 1M activities by default);
`python -m bench.run` signs in and times pages against it. See bench/README.md.
"""
