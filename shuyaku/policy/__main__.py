"""`python -m shuyaku.policy` runs the same commands as `shuyaku policy`."""

from shuyaku.cli.policy import main

main()
