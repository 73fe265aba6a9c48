"""The ragbench web service: Litestar REST API (``/api/v1``), server-rendered pages, OpenAPI.

Build the app with :func:`api.app.create_app`; run it with ``ragbench serve``.
"""
