"""Run every benchmark in bench/ one after another; each prints its figures and its baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ["calendar_due.py", "http_api.py"]


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = 0
    for name in BENCHES:
        print(f"\n===== {name} =====", flush=True)
        code = subprocess.call([sys.executable, str(here / name), *sys.argv[1:]])
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
