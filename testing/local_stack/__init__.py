"""Real services on loopback for the integration tests: a Docker engine, a v2 registry, moto.

The registry serves anyone, or, started with a Login (run_registry(login=...), the session fixture
`private_registry`), only that user: htpasswd authentication, the password hashed with bcrypt.

Each service is a child process of the test run with everything private to it: a temporary
directory, its own unix socket or a free port on 127.0.0.1, and a configuration file written here
(the machine's /etc/docker/daemon.json, /etc/containerd/config.toml and registry config are never
read). Each is stopped, and its directory removed, when its context manager exits:

    with run_docker_engine() as engine, run_registry() as registry:
        client = docker.DockerClient(base_url=engine.base_url)

One module a service (docker_engine, registry, moto; base_image, the image the tests build
FROM), on the child processes of processes.py; fixtures.py, registered in tests/conftest.py as a
pytest plugin, provides them to the tests as session fixtures. Import them from here.

The Docker engine needs root and Debian's docker.io, docker-registry and busybox-static packages
(scripts/test installs them). It never uses a system-wide dockerd or containerd, /var/lib/docker,
/var/run/docker.sock or the docker0 bridge: dockerd runs on a containerd of its own, without a
bridge, iptables or IP forwarding (builds need none: `RUN` steps run without a network), and its
containers' cgroups sit under a parent named after its directory. Two paths are hard-coded in
dockerd and containerd and cannot be moved: /run/docker/plugins (empty) and /run/containerd/s
(one hashed socket per running container); they are removed at the end when this run created them.
"""

from testing.local_stack.base_image import BASE_IMAGE_TAG, BaseImage, import_base_image
from testing.local_stack.docker_engine import DockerEngine, run_docker_engine
from testing.local_stack.moto import (
    MOTO_ACCOUNT_ID,
    MOTO_REGION,
    MotoServer,
    boto3_client,
    moto_environment,
    run_moto_server,
)
from testing.local_stack.processes import ServiceError, log_tail
from testing.local_stack.registry import (
    Login,
    Registry,
    push_index,
    run_registry,
    sha256_digest,
)
from testing.sockets import free_port

__all__ = [
    "BASE_IMAGE_TAG",
    "MOTO_ACCOUNT_ID",
    "MOTO_REGION",
    "BaseImage",
    "DockerEngine",
    "Login",
    "MotoServer",
    "Registry",
    "ServiceError",
    "boto3_client",
    "free_port",
    "import_base_image",
    "log_tail",
    "moto_environment",
    "push_index",
    "run_docker_engine",
    "run_moto_server",
    "run_registry",
    "sha256_digest",
]
