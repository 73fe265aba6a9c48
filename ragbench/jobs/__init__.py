"""Pipelines: rankings and the tie rule, stage Protocols, the stage registry (entry points),
configs, execution in process or on Ray actors, run files.

Nothing here imports Ray, Lucene or torch at import time; Ray is started by
:func:`ragbench.jobs.cluster.ensure_ray` when a pipeline asks for it.
"""
