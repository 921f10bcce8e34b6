"""The `govpulse` command: a thin layer of commands over the registry, crawlers, reports and scheduler."""

__version__ = "0.1.0"
