"""Tasks on leads and companies."""
