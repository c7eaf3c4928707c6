"""`python -m smepulse ...`: the same front door as the `smepulse` command."""
from smepulse.cli import main

main()
