"""`toto-actions build-push` killed part-way (a runner that dies, a job cancelled with SIGKILL)
and run again: it converges, building and pushing nothing twice."""

from __future__ import annotations

import signal
import subprocess

from testing.cli import CLI, clean_environment
from testing.local_stack import Registry
from testing.recording_proxy import RecordingProxy
from tests.commands.build_push.conftest import (
    Service,
    inputs_tag,
    outputs_of,
    registry_digest,
    registry_tags,
)


def test_killed_between_the_push_and_the_tagging_a_rerun_only_adds_the_tags(
    service: Service, registry: Registry
) -> None:
    arguments = ["--repository", "toto/killed", "--registry", registry.host]
    revision = ["--context", str(service.root), "--revision", "0123456789abcdef"]  # as service()

    def is_tagging(method: str, path: str) -> bool:  # the first requested tag, put by the API
        return method == "PUT" and path == "/v2/toto/killed/manifests/0123456"

    # build-push's own registry calls go through the proxy (the engine's push does not): it
    # holds the first tagging request, and the process is killed while it waits.
    with RecordingProxy(registry.url, hold=is_tagging) as proxy:
        env = {**service.engine.env, "HTTP_PROXY": proxy.url, "NO_PROXY": "", "no_proxy": ""}
        with subprocess.Popen(
            [str(CLI), "build-push", *revision, *arguments],
            env=clean_environment(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as killed:
            try:
                reached = proxy.held.wait(120)
            finally:
                killed.kill()
                log, _ = killed.communicate(timeout=60)
        assert reached, log
    assert killed.returncode == -signal.SIGKILL
    marker = inputs_tag(registry, "toto/killed")
    assert registry_tags(registry, "toto/killed") == [marker]  # pushed, not yet tagged

    rerun = service(*arguments)

    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    outputs = outputs_of(rerun)
    assert outputs["skipped"] == "true"  # nothing built or pushed again
    assert outputs["digest"] == registry_digest(registry, "toto/killed", marker)
    for tag in ("0123456", "1.4.0"):
        assert registry_digest(registry, "toto/killed", tag) == outputs["digest"]
