"""The core of govpulse: tables, the database, roster services, the scorer and the cases.

This package imports no other package of the project.
"""
