"""aeo-gateway: exchange of AEO status between customs administrations."""
