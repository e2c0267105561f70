"""The header search over companies, contacts and leads."""
