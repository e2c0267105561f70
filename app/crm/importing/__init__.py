"""CSV import of companies, contacts and leads (Google Maps, Plusvibe): upload, mapping, preview, run."""
