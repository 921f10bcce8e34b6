"""The core of govpulse: the vocabulary and its labels, the tables and the database (engine,
migrations), units and accounts, roster files, the patrol's records and the scorer (registry/scoring/).

This package imports no other package of the project (ARCHITECTURE.md).
"""
