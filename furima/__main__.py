"""``python -m furima``: the same as the ``furima`` command."""

from furima.cli import main

main()
