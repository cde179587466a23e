"""Command line: ``python -m matching {evaluate,rank,bench,retrain} ...``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
