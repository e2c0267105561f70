"""The pipeline report: what is open now, the funnel of the range's new leads, days in stage."""
