"""The live audit: the real cloud read through openstacksdk, checked against the platform's invariants."""
