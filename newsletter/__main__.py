"""`python -m newsletter` runs the command line, for machines where scripts are not on PATH."""

from newsletter.cli import main

main()
