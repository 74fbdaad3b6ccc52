"""Tests of toto_actions/rollout/: the plain logic of the ECS rollout wait."""
