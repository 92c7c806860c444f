"""Digital signatures: certificates, PAdES signing with Decree 30 stamps, validation."""
