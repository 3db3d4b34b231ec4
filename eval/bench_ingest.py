"""Moved into the CLI: `geohazard bench --skip-llm --sizes ''` measures ingest only (app/interfaces/bench.py).
Kept as a shim."""

import sys

from app.interfaces.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--skip-llm", "--sizes", "", *sys.argv[1:]]))
