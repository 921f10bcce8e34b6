"""Unattended patrols: the daemon, chains of steps, locks and alerts. May import every other package."""
