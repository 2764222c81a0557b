"""Requests that must answer alike for every address, handled after the answer."""
