"""Reports: self-contained HTML, XLSX, CSV and per-unit notices, rendered from plain rows."""

from reports.build import ReportPaths, build_report

__all__ = ["ReportPaths", "build_report"]
