"""``implicit-policy`` command line: thin over the library; heavy imports happen inside each command."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence


def _collect(args: argparse.Namespace) -> int:
    from .collect import collect_demonstrations

    started = time.perf_counter()
    demos = collect_demonstrations(args.env, args.episodes, args.seed, progress=not args.quiet)
    demos.save(args.out)
    rate = float(demos.episode_successes.mean())
    print(
        f"wrote {args.out}: {demos.num_episodes} episodes, {len(demos.observations)} transitions "
        f"(seeds {args.seed}..{args.seed + args.episodes - 1}), oracle success {rate:.1%}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


def _oracle(args: argparse.Namespace) -> int:
    from .rollout import oracle_rollout

    rates = {env_id: oracle_rollout(env_id, args.episodes, args.seed).success_rate for env_id in args.envs}
    print(f"{'env':<28}{'episodes':>10}{'oracle success':>16}")
    for env_id, rate in rates.items():
        print(f"{env_id:<28}{args.episodes:>10}{rate:>16.1%}")
    if args.json:
        print(json.dumps({"episodes": args.episodes, "seed": args.seed, "success_rate": rates}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="implicit-policy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    collect = commands.add_parser("collect", help="write oracle demonstrations to a .npz file")
    collect.add_argument("--env", required=True, help="env id, e.g. Particle2D-v0")
    collect.add_argument("--episodes", type=int, required=True)
    collect.add_argument("--seed", type=int, default=0, help="episode k is reset with seed + k")
    collect.add_argument("--out", required=True, help="output .npz path (written atomically)")
    collect.add_argument("--quiet", action="store_true", help="no progress bar")
    collect.set_defaults(run=_collect)

    oracle = commands.add_parser("oracle", help="print the oracle's success rate on seeded episodes")
    oracle.add_argument("--envs", nargs="+", default=["Particle2D-v0", "Particle16D-v0", "Particle2DMultimodal-v0"])
    oracle.add_argument("--episodes", type=int, default=500)
    oracle.add_argument("--seed", type=int, default=0)
    oracle.add_argument("--json", action="store_true", help="also print the rates as one JSON line")
    oracle.set_defaults(run=_oracle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ValueError as err:  # our validation errors: one clear line, no traceback
        print(f"implicit-policy {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
