"""The gRPC edge: authentication, error mapping and thin servicers."""
