"""Does an episode-level latent find the two-goal task's modes? (docs: Robot arm, the two-goal task)

K regression heads over one trunk; each demonstrated episode is assigned to the head whose actions fit it
best (hard EM, winner-takes-all over whole episodes, re-assigned every few hundred steps from a random
start), and at test time each episode draws one head, by the heads' shares of the demonstrations, and keeps
it for the whole episode: a policy that commits for as long as the demonstrator did. It prints which goal
each head's episodes pushed to, and the success on unseen episodes.

    implicit-policy collect --env FetchPushTwoGoals-v0 --episodes 300 --seed 0 --out tg300.npz
    python examples/two_goal_latent.py tg300.npz --heads 2 --seed 0
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from torch import nn

from implicit_policy.atomic import atomic_write_text
from implicit_policy.data.demonstrations import load_npz, observation_windows
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.models.normalize import Normalizer
from implicit_policy_envs.fetch_push import goal_distances

ENV_ID = "FetchPushTwoGoals-v0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="FetchPushTwoGoals-v0 demonstrations (.npz)")
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-obs", type=int, default=3, help="observations per window (the arm presets' 3)")
    parser.add_argument("--reassign-every", type=int, default=200)
    parser.add_argument("--others", type=float, default=0.05, help="loss weight the other heads share")
    parser.add_argument(
        "--assign",
        choices=["fit", "goal"],
        default="fit",
        help="fit: each episode to its best-fitting head (unsupervised); goal: head = the goal it pushed to "
        "(an oracle, with --heads 2: the ceiling of holding the right latent)",
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--eval-seed", type=int, default=5000)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    demos = load_npz(args.data)
    obs, act = demos.observations.astype(np.float32), demos.actions.astype(np.float32)
    lengths = demos.episode_lengths
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    episode = np.repeat(np.arange(len(lengths)), lengths)
    normalizer = Normalizer.fit(obs, act, margin=0.0)
    windows = normalizer.normalize_obs(torch.tensor(obs))[observation_windows(lengths, args.n_obs)]  # (N, n_obs, O)
    x = windows.flatten(1)
    y = normalizer.normalize_actions(torch.tensor(act))
    k, a = args.heads, act.shape[1]
    net = nn.Sequential(nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, k * a))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.steps)
    episode_t, lengths_t = torch.tensor(episode), torch.tensor(lengths)
    to_goal_2 = goal_distances(obs[starts + lengths - 1]).argmin(-1) == 1  # the goal each demonstration ended at
    if args.assign == "goal" and k != 2:
        parser.error("--assign goal needs --heads 2")
    assign = torch.tensor(to_goal_2.astype(np.int64)) if args.assign == "goal" else torch.randint(0, k, (len(lengths),))
    for step in range(args.steps + 1):
        if args.assign == "fit" and (step % args.reassign_every == 0 or step == args.steps):
            with torch.no_grad():  # each episode to the head with the lowest mean squared error over it
                error = ((net(x).view(-1, k, a) - y[:, None]) ** 2).mean(-1)
                assign = (torch.zeros(len(lengths), k).index_add_(0, episode_t, error) / lengths_t[:, None]).argmin(1)
        if step == args.steps:
            break
        batch = torch.randint(0, len(x), (512,))
        error = ((net(x[batch]).view(-1, k, a) - y[batch, None]) ** 2).mean(-1)  # (B, K)
        weight = torch.full_like(error, args.others / max(k - 1, 1))
        weight[torch.arange(len(batch)), assign[episode_t[batch]]] = 1 - args.others if k > 1 else 1.0
        loss = (weight * error).sum(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    shares = np.bincount(assign.numpy(), minlength=k) / len(lengths)
    split = [[int(np.sum((assign.numpy() == h) & (to_goal_2 == g))) for g in (False, True)] for h in range(k)]
    print("demonstrations per head, to goal 1 / goal 2:", split)
    net.eval()
    rng = np.random.default_rng(args.seed + 1)

    class HeldHead:
        """Draws one head per episode at reset and acts with it until the next reset."""

        def __init__(self) -> None:
            self.history: list[torch.Tensor] | None = None

        def reset(self, rows: object = None) -> None:
            self.history = None

        def act(self, observation: np.ndarray) -> np.ndarray:
            o = normalizer.normalize_obs(torch.as_tensor(observation, dtype=torch.float32))
            if self.history is None:
                self.history, self.head = [o] * args.n_obs, rng.choice(k, size=len(o), p=shares)
            else:
                self.history = self.history[1:] + [o]
            with torch.no_grad():
                out = net(torch.cat(self.history, dim=1)).view(-1, k, a)
                return normalizer.denormalize_actions(out[torch.arange(len(o)), self.head]).numpy()

    result = evaluate(HeldHead(), ENV_ID, args.episodes, args.eval_seed)
    summary = {key: value for key, value in result.items() if isinstance(value, (int, float))}
    summary |= {
        "heads": k,
        "assign": args.assign,
        "seed": args.seed,
        "shares": shares.tolist(),
        "per_head_goal_1_goal_2": split,
    }
    print(json.dumps(summary))
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
