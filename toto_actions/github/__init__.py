"""GitHub: the REST API adapter, and the sync's config, plan and token permissions."""
