"""`python -m server` is the `mypage` command."""

from server.cli import main

main()
