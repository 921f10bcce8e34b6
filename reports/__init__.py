"""Reports: self-contained HTML, XLSX, CSV and per-unit notices, rendered from plain rows."""
