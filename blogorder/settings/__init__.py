"""Settings package: ``base`` plus one module per integration; pick local, production or test."""
