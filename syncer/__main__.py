"""``python -m syncer``: the same as the ``syncer`` command."""

from syncer.cli.main import main

main()
