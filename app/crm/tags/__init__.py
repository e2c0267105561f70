"""Tags on leads, and the event a disposition tag emits."""
