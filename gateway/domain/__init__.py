"""The pure domain core: records, lifecycle, partners, grade schemes, recognition, ingest rules.

Imports only the standard library (enforced by import-linter in pyproject.toml).
"""
