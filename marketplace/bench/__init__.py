"""Benchmarks at production volume: ``python -m marketplace.bench dashboard|load|seed``.

- :mod:`.seed` fills an empty database with N packages, needs and deals (and everything they
  need) in a minute or two, the same rows for the same seed.
- :mod:`.dashboard` times the officials' statistics (services and the ``/stats/`` page).
- :mod:`.load` serves the app with gunicorn and drives its pages and API from concurrent
  clients, reporting throughput, latency percentiles per route and errors.

Figures, commands and what they showed are in ``docs/deployment.md``.
"""
