"""`python -m shuyaku.policy` runs the same commands as `shuyaku policy`."""

from shuyaku.policy.cli import main

main()
