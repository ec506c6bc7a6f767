"""Scripted demonstrators for Gymnasium-Robotics' ``FetchPush-v4`` (MuJoCo; ``pip install
"implicit-policy[robotics]"``), the arm task our robot users see first, and for ``FetchPushTwoGoals-v0``
(:mod:`implicit_policy_envs.fetch_push_two_goals`), which pushes to one goal of two with the same script.

The env is Gymnasium-Robotics' own; this module only reads observations (numpy alone).

| | |
|---|---|
| Observation | ``Dict`` flattened in sorted key order (as :func:`implicit_policy.evaluation.rollout.make_vector_env` does): ``achieved_goal`` (3, the block's position), ``desired_goal`` (3), ``observation`` (25: gripper position 3, block position 3, block minus gripper 3, finger state 2, block rotation 3, block linear velocity 3, block angular velocity 3, gripper velocity 3, finger velocity 2); 31 in all |
| Action | ``Box(-1, 1, (4,))``: gripper displacement ``dx, dy, dz`` (x 0.05 m per step) and the fingers (-1 closed) |
| Success | ``info["is_success"]``: the block within 0.05 m of the goal (the env's own judgement), after 50 steps |

The script, per step and per batch row, from geometry alone (no hidden phase, so a vector env's rows need
no bookkeeping): the *contact point* lies on the line from the goal through the block, just behind the
block. Far from it, the gripper rises to a safe height, flies above it and descends; once at block height
behind the block and on the line, it pushes along the line towards the point behind the goal. If the block
drifts off the line (it rotates, slides sideways), the gripper leaves the line and the same rules bring it
back behind the block on the new line: a re-approach.
"""

from __future__ import annotations

import numpy as np

ENV_ID = "FetchPush-v4"
OBS_SIZE = 31
GRIPPER = slice(6, 9)
BLOCK = slice(9, 12)
GOAL = slice(3, 6)


class FetchPushDemonstrator:
    """``act (B, 31) -> (B, 4)``: the scripted pusher; ``reset(info)`` is a no-op (it keeps no state)."""

    def __init__(
        self,
        behind: float = 0.05,
        safe_height: float = 0.06,
        on_line: float = 0.012,
        at_height: float = 0.012,
        gain: float = 12.0,
    ) -> None:
        self.behind = behind  # gripper centre to block centre while pushing (block half-width 0.025 + finger)
        self.safe_height = safe_height  # above the block's centre while flying to the contact point
        self.on_line = on_line  # lateral tolerance of the push
        self.at_height = at_height  # vertical tolerance of the push
        self.gain = gain  # action per metre of error (saturates at 1: 0.05 m per step)

    def reset(self, info: dict | None = None) -> None:
        """Nothing to forget: every action follows from the current observation."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(np.asarray(obs, dtype=np.float64))
        if batch.shape[1] != OBS_SIZE:
            raise ValueError(
                f"FetchPush observation must have size {OBS_SIZE} (flattened Dict), got shape {np.shape(obs)}"
            )
        gripper, block, goal = batch[:, GRIPPER], batch[:, BLOCK], batch[:, GOAL]
        to_goal = goal[:, :2] - block[:, :2]
        distance = np.linalg.norm(to_goal, axis=1, keepdims=True)
        direction = to_goal / np.maximum(distance, 1e-6)  # (B, 2) unit vector block -> goal
        contact = block[:, :2] - self.behind * direction  # where the gripper pushes from
        offset = gripper[:, :2] - block[:, :2]
        along = np.sum(offset * direction, axis=1)  # < 0: behind the block
        lateral = np.linalg.norm(offset - along[:, None] * direction, axis=1)
        height = gripper[:, 2] - block[:, 2]

        pushing = (
            (lateral < self.on_line)
            & (along < -0.02)
            & (along > -self.behind - 0.02)
            & (np.abs(height) < self.at_height)
        )
        near_contact = np.linalg.norm(gripper[:, :2] - contact, axis=1) < self.on_line
        low = height < self.safe_height - 0.02

        target = np.empty_like(gripper)
        # push: the gripper heads for the point behind the goal, on the line, at block height
        target[:, :2] = np.where(pushing[:, None], goal[:, :2] - (self.behind - 0.01) * direction, contact)
        target[:, 2] = np.where(pushing | near_contact, block[:, 2], block[:, 2] + self.safe_height)
        # off the line and low near the block: rise first, in place, so as not to knock it
        rise = ~pushing & ~near_contact & low & (np.linalg.norm(offset, axis=1) < 0.08)
        target[rise, :2] = gripper[rise, :2]
        arrived = distance[:, 0] < 0.01
        target[arrived] = gripper[arrived]

        action = np.zeros((len(batch), 4), dtype=np.float32)
        action[:, :3] = np.clip(self.gain * (target - gripper), -1.0, 1.0)
        action[:, 3] = -1.0  # fingers closed: a flat pusher
        return action if np.ndim(obs) == 2 else action[0]


TWO_GOALS_ENV_ID = "FetchPushTwoGoals-v0"
TWO_GOALS_OBS_SIZE = 34


def goal_reached(observations: np.ndarray, lengths: np.ndarray, successes: np.ndarray) -> np.ndarray:
    """Per successful episode of ``FetchPushTwoGoals-v0``, the goal (0 or 1) its block ended nearer to in the
    last recorded observation, -1 for a failed episode: ``(E,)`` from ``observations (E, S, 34)``,
    ``lengths (E,)`` and ``successes (E,)``. Which mode a policy chose, for comparing it to the
    demonstrator's 50/50."""
    last = observations[np.arange(len(observations)), np.asarray(lengths) - 1]  # (E, 34)
    nearer = np.argmin(goal_distances(last), axis=-1)
    return np.where(np.asarray(successes, dtype=bool), nearer, -1)


def goal_distances(observations: np.ndarray) -> np.ndarray:
    """The block's distance to each of the two goals ``(..., 2)`` in ``FetchPushTwoGoals-v0`` observations
    ``(..., 34)`` (block at 0:3, the goals at 3:6 and 6:9)."""
    block = observations[..., :3]  # achieved_goal
    goals = observations[..., 3:9].reshape(*observations.shape[:-1], 2, 3)
    return np.linalg.norm(goals - block[..., None, :], axis=-1)


HEADING_WINDOW = 3  # steps over which the block's approach to each goal is measured
HEADING_MIN_APPROACH = 0.004  # metres closer to a goal over the window: slower motion heads nowhere


def heading_goals(observations: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per episode and step of ``FetchPushTwoGoals-v0``, the goal (0 or 1) the block is heading for, -1 where
    it heads for neither: ``(E, S)`` from ``observations (E, S, 34)`` and ``lengths (E,)``. The block heads
    for the goal it came nearer to over the next ``HEADING_WINDOW`` steps, by at least
    ``HEADING_MIN_APPROACH`` metres and by more than it came nearer to the other goal."""
    observations = np.asarray(observations, dtype=np.float64)
    distance = goal_distances(observations)  # (E, S, 2)
    heading = np.full(observations.shape[:2], -1, dtype=np.int64)
    if observations.shape[1] <= HEADING_WINDOW:
        return heading
    approach = distance[:, :-HEADING_WINDOW] - distance[:, HEADING_WINDOW:]  # (E, S - W, 2)
    best = np.argmax(approach, axis=-1)
    clear = (approach.max(-1) >= HEADING_MIN_APPROACH) & (approach.max(-1) > approach.min(-1))
    steps = np.arange(observations.shape[1] - HEADING_WINDOW)
    inside = steps[None, :] + HEADING_WINDOW < np.asarray(lengths)[:, None]
    heading[:, :-HEADING_WINDOW] = np.where(clear & inside, best, -1)
    return heading


def goal_switches(observations: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per episode, how often the goal the block heads for (:func:`heading_goals`) changes from one goal to
    the other, ``(E,)``; steps heading for neither are skipped. 0: the policy committed to one goal."""
    switches = []
    for row in heading_goals(observations, lengths):
        moving = row[row >= 0]
        switches.append(int(np.count_nonzero(moving[1:] != moving[:-1])))
    return np.array(switches, dtype=np.int64)


class TwoGoalsDemonstrator:
    """``act (B, 34) -> (B, 4)``: :class:`FetchPushDemonstrator` pushing each row's block to the goal its
    episode's reset info chose (``demonstrator_goal``, a seeded fair coin), so the choice is 50/50 and
    reproducible from the episode seeds."""

    def __init__(self) -> None:
        self.pusher = FetchPushDemonstrator()
        self.choice = np.zeros(1, dtype=np.int64)

    def reset(self, info: dict) -> None:
        """Remember each row's goal (0 or 1) from the (vector) env's reset info."""
        if "demonstrator_goal" not in info:
            raise ValueError(f"{TWO_GOALS_ENV_ID} reset info has no 'demonstrator_goal'; is this its env?")
        self.choice = np.atleast_1d(np.asarray(info["demonstrator_goal"], dtype=np.int64))

    def act(self, obs: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(np.asarray(obs, dtype=np.float64))
        if batch.shape[1] != TWO_GOALS_OBS_SIZE:
            raise ValueError(
                f"{TWO_GOALS_ENV_ID} observation must have size {TWO_GOALS_OBS_SIZE} (flattened Dict), "
                f"got shape {np.shape(obs)}"
            )
        if len(self.choice) != len(batch):
            raise ValueError(f"reset with {len(self.choice)} rows, acting on {len(batch)}")
        rows = np.arange(len(batch))[:, None]
        goal = batch[rows, 3 + 3 * self.choice[:, None] + np.arange(3)]  # (B, 3) the chosen goal
        one_goal = np.concatenate([batch[:, :3], goal, batch[:, 9:]], axis=1)  # FetchPush-v4's layout
        action = self.pusher.act(one_goal)
        return action if np.ndim(obs) == 2 else action[0]
