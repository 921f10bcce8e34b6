"""Commands of this group are added here; see govpulse/cli.py."""

import click

COMMANDS: list[click.Command] = []
