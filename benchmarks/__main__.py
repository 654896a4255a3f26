"""``python -m benchmarks {run,compare,report,fieldday,v1} ...``; see README.md."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

USAGE = """usage: python -m benchmarks COMMAND [options]

commands:
  run       solve a suite, write results.csv, a markdown table and a plot
  compare   run presets and OR-Tools strategy × metaheuristic settings side by side
  report    table and plot from existing result CSVs
  fieldday  the field-day suite (benchmarks.fieldday)
  v1        public instances as v1 requests through `onestop solve`'s path, with peers

'python -m benchmarks COMMAND --help' lists the options."""


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the sub-command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    cmd, rest = args[0], args[1:]
    if cmd == "run":
        from .run import main as run_main

        return run_main(rest)
    if cmd == "compare":
        from .run import main as run_main

        return run_main(rest, compare=True)
    if cmd == "report":
        from .report import main as report_main

        return report_main(rest)
    if cmd == "v1":
        from .v1 import main as v1_main

        return v1_main(rest)
    if cmd == "fieldday":
        if importlib.util.find_spec("benchmarks.fieldday") is None:
            print("benchmarks.fieldday is not there yet; nothing to run.", file=sys.stderr)
            return 2
        from . import fieldday  # type: ignore[attr-defined]

        entry = getattr(fieldday, "main", None)
        return int(entry(rest) or 0) if entry else int(fieldday.run() or 0)
    print(f"unknown command {cmd!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
