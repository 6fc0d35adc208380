"""Adapters behind the core's ports: wire formats, signatures, storage, development PKI."""
