"""`python -m rlm_cli` runs the same command line as `rlm`."""

from rlm_cli.cli import main

main()
