"""Compare learners side by side: a thin wrapper of `livereplay compare` (same options).

    python benchmarks/compare.py --learners pop,repeat,mf --days 32-42 --out results
"""
import sys

from livereplay.app.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
