"""HTTP layer: thin routers, dependencies and the error contract."""
