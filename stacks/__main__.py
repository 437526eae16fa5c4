"""The shuyaku platform program (`pulumi up -s local|onprem|dr` from the repository root).

Everything lives in the `shuyaku` package so that tests and benchmarks run the same code under mocks;
this file only says where the project root is (stack paths in config are relative to it).
"""

from pathlib import Path

from shuyaku.platform.entry import main

main(Path(__file__).resolve().parent.parent)
