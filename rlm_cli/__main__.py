"""`python -m rlm_cli` runs the same command line as `rlm`."""

from rlm_cli.early import main

main()
