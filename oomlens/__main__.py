"""``python -m oomlens``."""

from .cli import main

main()
