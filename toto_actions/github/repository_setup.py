"""The GitHub reads of `toto-actions doctor`: a repository's environments, and the names of the
secrets and variables its jobs can see (its own, each environment's, and the organization's
shared with it). Names only: a secret's value is never readable, and a variable's is not kept.

PyGithub lists the repository's and an environment's; the organization's shared with a
repository (GET /repos/{owner}/{repo}/actions/organization-secrets and -variables) have no
PyGithub call, so they go through its requester and paginated list.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from github.Environment import Environment
from github.PaginatedList import PaginatedList
from github.Secret import Secret
from github.Variable import Variable

from toto_actions.github.api import GitHubClient, GitHubError
from toto_actions.workflows.readiness import RepositorySetup


class SetupClient(GitHubClient):
    """GitHubClient with the reads of a repository's Actions setup."""

    def repository_setup(self, repository: str, environments: Iterable[str]) -> RepositorySetup:
        """What the repository holds: its environments, and the secret and variable names of
        itself, of each of these environments that exists, and of its organization."""
        # Through the requester: PyGithub's get_environments() first asks for the repository.
        found = self._read(
            f"list the environments of {repository}",
            lambda: self._listed(Environment, f"/repos/{repository}/environments", "environments"),
        )
        existing = {name.casefold(): name for name in found}
        secrets: dict[str | None, frozenset[str]] = {None: self._names(repository, None, "secrets")}
        variables: dict[str | None, frozenset[str]] = {
            None: self._names(repository, None, "variables")
        }
        for wanted in dict.fromkeys(environments):
            name = existing.get(wanted.casefold())
            if name is not None:
                secrets[name.casefold()] = self._names(repository, name, "secrets")
                variables[name.casefold()] = self._names(repository, name, "variables")
        return RepositorySetup(
            frozenset(existing),
            secrets,
            variables,
            self._shared(repository, "secrets"),
            self._shared(repository, "variables"),
        )

    def _names(self, repository: str, environment: str | None, kind: str) -> frozenset[str]:
        """The secret (or variable) names of the repository, or of one of its environments: one
        list request, where PyGithub's get_repo() and get_environment() would each ask first."""
        content: type[Secret] | type[Variable] = Secret if kind == "secrets" else Variable
        if environment is None:
            url, where = f"/repos/{repository}/actions/{kind}", repository
        else:
            url = f"/repos/{repository}/environments/{quote(environment, safe='')}/{kind}"
            where = f"environment {environment} of {repository}"
        entries = self._read(
            f"list the {kind} of {where}", lambda: self._listed(content, url, kind)
        )
        return frozenset(name.upper() for name in entries)

    def _shared(self, repository: str, kind: str) -> frozenset[str]:
        """The organization's secrets (or variables) shared with the repository; none for a
        repository a user owns (GitHub answers 404 there)."""
        content: type[Secret] | type[Variable] = Secret if kind == "secrets" else Variable
        url = f"/repos/{repository}/actions/organization-{kind}"
        try:
            entries = self._read(
                f"list the organization {kind} shared with {repository}",
                lambda: self._listed(content, url, kind),
            )
        except GitHubError as problem:
            if problem.status == 404:
                return frozenset()
            raise
        return frozenset(name.upper() for name in entries)

    def _listed(
        self, content: type[Environment] | type[Secret] | type[Variable], url: str, key: str
    ) -> list[str]:
        """The names of every page of a list GitHub answers as {total_count, <key>: [...]}."""
        pages = PaginatedList(content, self._requester(), url, None, list_item=key)
        return [entry.name for entry in pages]
