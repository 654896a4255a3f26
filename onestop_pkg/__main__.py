"""``python -m onestop``: the same as the ``onestop`` console script."""

from onestop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
