"""Signatures with the cryptography package (OpenSSL)."""
