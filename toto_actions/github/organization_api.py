"""The GitHub calls only an organization-scope sync makes: each repository's id, visibility and
own variables, the organization's plan, and its secrets and variables with their visibility and
selected repositories.

The writes (secrets and variables with their selection, the selection alone) are the adapter's
own (api.py), which serves every target.
"""

from __future__ import annotations

from typing import Any

from github.PaginatedList import PaginatedList
from github.Repository import Repository

from toto_actions.github.api import (
    PERMISSION_STATUSES,
    GitHubClient,
    GitHubError,
    timestamp_text,
)
from toto_actions.github.sync_organization import RepositoryFacts
from toto_actions.github.sync_plan import SECRET, VARIABLE, Entry, Target, TargetContents
from toto_actions.parallel import parallel

SELECTED = "selected"


class OrganizationClient(GitHubClient):
    """GitHubClient with the organization's reads; as safe to share between threads."""

    def repository_facts(self, repository: str) -> RepositoryFacts | str:
        """The repository's id and whether it is public; a string saying why the token cannot
        see it."""
        document = self.repository_document(repository)
        if isinstance(document, str):
            return document
        return RepositoryFacts(
            int(document["id"]), document.get("visibility") == "public", document["full_name"]
        )

    def plan(self, target: Target) -> str | None:
        """The organization's GitHub plan (`free`, `team`, ...); None when GitHub leaves it out
        of the answer, as it does for a token without the Organization plan permission."""
        _, document = self._read(
            f"GET {target.repository}",
            lambda: self._requester().requestJsonAndCheck("GET", f"/orgs/{target.repository}"),
        )
        plan = document.get("plan") if isinstance(document, dict) else None
        name = plan.get("name") if isinstance(plan, dict) else None
        return name if isinstance(name, str) else None

    def repository_variables(self, repository: str) -> dict[str, str] | None:
        """The repository's own variables (NAME -> value); None when the token may not read
        them (it needs Variables: read)."""
        try:
            found = self._read(
                f"list variables of {repository}",
                lambda: list(self._github().get_repo(repository).get_variables()),
            )
        except GitHubError as problem:
            if problem.status in PERMISSION_STATUSES:
                return None
            raise
        return {variable.name.upper(): variable.value for variable in found}

    def read_organization(self, target: Target) -> TargetContents:
        """The organization's secrets (updated_at, visibility, and each selected one's
        repositories: all of them count towards a workflow's 100) and variables (value,
        visibility, and each selected one's repositories: all of them count towards the
        variables a run gets)."""
        organization = self._scope(target)
        secrets = self._read(
            f"list the secrets of {target}", lambda: list(organization.get_secrets())
        )
        found = self._read(
            f"list the variables of {target}", lambda: list(organization.get_variables())
        )
        visibilities: dict[Entry, str] = {}
        selected: list[tuple[Entry, Any]] = []
        for kind, entries in ((SECRET, secrets), (VARIABLE, found)):
            for entry in entries:
                key = (kind, entry.name.upper())
                visibilities[key] = entry.visibility
                if entry.visibility == SELECTED:
                    selected.append((key, entry))
        # One request (a page of 100) or more per selected entry: read a few at once, each
        # thread with its own client (the entries' own would share one connection).
        read = parallel(
            self._settings.max_concurrency,
            selected,
            lambda item: self._selection(target, item[0], item[1].selected_repositories_url),
        )
        selections = {key: ids for (key, _), ids in zip(selected, read, strict=True)}
        return TargetContents(
            True,
            {s.name.upper(): timestamp_text(s.updated_at) for s in secrets},
            {v.name.upper(): v.value for v in found},
            visibilities,
            selections,
        )

    def _selection(self, target: Target, key: Entry, url: str) -> frozenset[int]:
        """The ids of the repositories the entry selects (its selected_repositories_url)."""
        repositories = self._read(
            f"list the repositories of {key[0]} {key[1]} of {target}",
            lambda: list(
                PaginatedList(Repository, self._requester(), url, None, list_item="repositories")
            ),
        )
        return frozenset(int(repository.id) for repository in repositories)
