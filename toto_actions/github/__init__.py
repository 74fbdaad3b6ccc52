"""GitHub: the REST API adapter, and the sync's config, plan and token permissions."""

from toto_actions.options import URL, Option

DEFAULT_API_URL = "https://api.github.com"
# The API every command that talks to GitHub reaches: a flag, its INPUT_, or the runner's.
API_URL_OPTION = Option(
    "--github-api-url",
    f"GitHub API (default {DEFAULT_API_URL})",
    kind=URL,
    default=DEFAULT_API_URL,
    fallback_variable="GITHUB_API_URL",
)
