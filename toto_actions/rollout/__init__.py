"""Waiting for the ECS services an apply rolled: which services (targets.py), how far each
rollout is (progress.py, plain values), the ECS calls (ecs.py, boto3) and the loop (wait.py)."""
