"""The impact report: what was published, sent, read, discussed and done in a period."""
