"""The audit log: who did what in the console and the API, and when."""
