"""The processing-time report (`gateway report`): the ledger statistics as an HTML page with charts
or as CSV, labelled in French or Arabic. It computes nothing of its own (gateway.ledger.stats does)."""
