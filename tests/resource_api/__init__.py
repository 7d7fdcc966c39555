"""The resource API, in process."""
