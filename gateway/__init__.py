"""IMR – Al Omrane exchange gateway."""
