import sys

from ddoctor.cli.prefetch import prefetch_torch

prefetch_torch(sys.argv[1:])  # before the CLI framework loads (see cli/prefetch.py)

from ddoctor.cli.entry import main  # noqa: E402

if __name__ == "__main__":
    main()
