"""``python -m netlang ...``: the same as the ``netlang`` command."""

from .launcher import main

main()
