"""Durable storage: one schema on SQLite (default) or PostgreSQL, versioned migrations."""
