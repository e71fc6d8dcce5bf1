"""Pure rules of the exchange: vocabularies and the case lifecycle. No I/O here."""
