"""A person's own subscription: who they are, what they follow, how often, their links and
their data (export, erasure)."""
