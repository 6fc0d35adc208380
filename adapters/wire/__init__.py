"""Wire-format adapters: one module per format partners speak."""
