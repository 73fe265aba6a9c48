"""Storage and service layer: SQLAlchemy models, migrations, and the service functions.

Imported only by the code paths that need a database (the API, the CLI's database commands),
never by the core (formats, evaluation, statistics). Modules:

- :mod:`ragbench.settings`: ``get_settings()`` from the ``RAGBENCH_*`` environment.
- :mod:`ragbench.store.models`: the typed models.
- :mod:`ragbench.store.db`: ``make_engine``, ``session_factory``, ``schema_is_current``, ``upgrade``.
- :mod:`ragbench.store.service`: every operation of ``docs/service_design.md``.
"""
