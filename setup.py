"""Build hook for the one compiled part of ragbench: the TREC run/qrels tokenizer.

Everything else is pure Python; see ragbench/formats/_ctrec.c for why this part is C.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ragbench.formats._ctrec",
            sources=["ragbench/formats/_ctrec.c"],
            extra_compile_args=["-O3"],
            optional=True,  # without a compiler, ragbench falls back to the pure-Python reader
        )
    ]
)
