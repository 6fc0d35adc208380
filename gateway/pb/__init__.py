"""Generated protobuf and gRPC modules. Never edit by hand: run `make proto`."""
