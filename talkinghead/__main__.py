"""`python -m talkinghead ...` entry point."""

from talkinghead.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
