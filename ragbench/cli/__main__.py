"""``python -m ragbench.cli``: the same as the ``ragbench`` command."""

from ragbench.cli import main

main()
