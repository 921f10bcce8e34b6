"""Regenerate the initial migration from the models (only while no release has shipped it).

Usage: python tools/regen_initial_migration.py
"""

import tempfile
from pathlib import Path

from alembic import command

from registry.db import MIGRATIONS, alembic_config, make_engine

VERSIONS = MIGRATIONS / "versions"

for old in VERSIONS.glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
    cfg = alembic_config(engine)
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
for new in VERSIONS.glob("0001_*.py"):
    new.rename(VERSIONS / "0001_initial.py")
print("wrote", VERSIONS / "0001_initial.py")
