"""Run every benchmark module in turn: ``python -m benchmarks [name ...]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from benchmarks.common import print_table


def main(names: list[str]) -> None:
    """Import each benchmark module and print its table."""
    available = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name not in ("common", "__main__", "class_load_client")]
    for name in names or available:
        module = importlib.import_module(f"benchmarks.{name}")
        print_table(module.run(), title=name)


if __name__ == "__main__":
    main(sys.argv[1:])
