"""LLM relevance judges: prompts, strict reply parsing, and the judge over the LM layer.

- :mod:`rankers.judges.prompts`: the ``umbrela`` and ``basic`` prompts and user prompt files.
- :mod:`rankers.judges.relevance`: :class:`~rankers.judges.relevance.RelevanceJudge`, which grades
  (query, passage) pairs 0-3 through any :mod:`rankers.lm` client, with retries, samples, the mode
  rule and a provenance record per label.
- :mod:`rankers.judges.stage`: the ``judge.relevance`` stage type (one model per Ray actor).
"""
