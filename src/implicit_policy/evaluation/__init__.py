"""Seeded rollouts of any controller in vector envs, closed-loop metrics, and the env hooks through which env
packages add what only they know (demonstrators, diagnostics)."""
