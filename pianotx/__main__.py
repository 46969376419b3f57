"""``python -m pianotx``: the same CLI as the ``pianotx`` command."""

from pianotx.cli import main

main()
