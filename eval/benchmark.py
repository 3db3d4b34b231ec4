"""Moved into the CLI: `geohazard bench` (one implementation, app/interfaces/bench.py). Kept as a shim.

    .venv/bin/python eval/benchmark.py [--model qwen1.5b] [--runs 6] …   ==   geohazard bench …
"""

import sys

from app.interfaces.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
