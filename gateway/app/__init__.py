"""The application layer: one handler per use case, over ports the adapters implement."""
