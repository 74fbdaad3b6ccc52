"""Service images: build inputs, the Docker engine, registries (ECR, any v2 registry), names."""
