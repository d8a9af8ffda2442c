"""The declarative registry of iMIS sources: their fields, keys, actions, platforms and rules."""
