"""``python -m lrlab``: the command line."""

from lrlab.cli import main

raise SystemExit(main())
