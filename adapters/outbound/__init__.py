"""Delivery of home AEO changes to partners' gateways: the gRPC sender and the dispatcher."""
