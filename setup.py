"""Build hook for the two compiled parts of ragbench, both optional (pure-Python twins exist):

- ``ragbench.formats._ctrec``: the TREC run/qrels tokenizer and string pool (see its header for why C);
- ``ragbench.evaluation._cjoin``: the evaluation's join (trec_eval's form_res_rels), which ranks
  documents by the pool's strings through ``_ctrec``'s C API (``ragbench/formats/ctrec_pool.h``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ragbench.formats._ctrec",
            sources=["ragbench/formats/_ctrec.c"],
            depends=["ragbench/formats/ctrec_pool.h"],
            extra_compile_args=["-O3"],
            optional=True,  # without a compiler, ragbench falls back to the pure-Python reader
        ),
        Extension(
            "ragbench.evaluation._cjoin",
            sources=["ragbench/evaluation/_cjoin.c"],
            depends=["ragbench/formats/ctrec_pool.h"],
            extra_compile_args=["-O3"],
            optional=True,  # without it, the numpy join in ragbench/evaluation/prepare.py runs
        ),
    ]
)
