"""``implicit-policy`` command line: thin over the library; heavy imports happen inside each command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from implicit_policy import __version__
from implicit_policy.extras import missing_extra_message


def _env_kwargs(text: str | None) -> dict | None:
    """``--env-kwargs``: a JSON object, or None when not given."""
    if text is None:
        return None
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f'--env-kwargs must be a JSON object, e.g. \'{{"obs_type": "state"}}\': {err}') from None
    if not isinstance(kwargs, dict):
        raise ValueError(f"--env-kwargs must be a JSON object, got {text!r}")
    return kwargs


def _obs_keys(text: str | None) -> list[str] | None:
    """``--obs-keys k1,k2``: the observation keys, in order, or None when not given."""
    if text is None:
        return None
    keys = [key.strip() for key in text.split(",")]
    if not all(keys):
        raise ValueError(f"--obs-keys must be keys separated by commas, got {text!r}")
    return keys


def _collect(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import check_output_file
    from implicit_policy.data.collect import collect_demonstrations
    from implicit_policy.data.minari import PREFIX, collect_minari, is_minari_source, load_minari

    started = time.perf_counter()
    kwargs = _env_kwargs(args.env_kwargs)
    if is_minari_source(args.out):
        if kwargs:
            raise ValueError("--env-kwargs is for .npz output; a Minari dataset records the env itself")
        collect_minari(
            args.env, args.episodes, args.seed, args.out[len(PREFIX) :], not args.quiet, controller=args.controller
        )
        demos = load_minari(args.out)
    else:
        check_output_file(args.out, "--out")
        demos = collect_demonstrations(
            args.env, args.episodes, args.seed, progress=not args.quiet, env_kwargs=kwargs, controller=args.controller
        )
        demos.save(args.out)
    rate = float(demos.episode_successes.mean())
    who = "oracle" if args.controller == "demonstrator" else args.controller
    print(
        f"wrote {args.out}: {demos.num_episodes} episodes, {len(demos.observations)} transitions "
        f"(seeds {args.seed}..{args.seed + args.episodes - 1}), {who} success {rate:.1%}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


def _oracle(args: argparse.Namespace) -> int:
    from implicit_policy.evaluation.rollout import oracle_rollout

    rates = {env_id: oracle_rollout(env_id, args.episodes, args.seed).success_rate for env_id in args.envs}
    print(f"{'env':<28}{'episodes':>10}{'oracle success':>16}")
    for env_id, rate in rates.items():
        print(f"{env_id:<28}{args.episodes:>10}{rate:>16.1%}")
    if args.json:
        print(json.dumps({"episodes": args.episodes, "seed": args.seed, "success_rate": rates}))
    return 0


def _config_from_args(args: argparse.Namespace):
    """The TrainConfig that --preset/--config, then --steps, --seed, --set, --device, --threads and
    --val-episodes describe."""
    from implicit_policy.config import TrainConfig
    from implicit_policy.presets import DEFAULT_PRESET, preset

    if args.config and args.preset:
        raise ValueError("give either --preset or --config, not both")
    config = TrainConfig.load(args.config, complete=True) if args.config else preset(args.preset or DEFAULT_PRESET)
    overrides = {k: v for k, v in (("steps", args.steps), ("seed", args.seed)) if v is not None}
    if overrides:
        config = config.updated(**overrides)
    if args.set:
        config = config.with_settings(args.set)
    if args.device:
        config = config.updated(device=args.device)
    if args.threads is not None:
        config = config.updated(torch_threads=args.threads)
    if args.val_episodes is not None:
        config = config.updated(val_episodes=args.val_episodes)
    if args.log:
        config = config.updated(log=[kind.strip() for kind in args.log.split(",")])
    return config


def _load_training_data(args: argparse.Namespace):
    """``--data`` read with ``--obs-keys``, its env replaced by ``--env`` / ``--env-kwargs`` where given."""
    import dataclasses

    from implicit_policy.data import load_demonstrations

    demos = load_demonstrations(args.data, obs_keys=_obs_keys(args.obs_keys))
    if args.episodes is not None:
        from implicit_policy.data.selection import select_episodes

        demos = demos.episodes(select_episodes(args.episodes, demos.num_episodes))
    kwargs = _env_kwargs(args.env_kwargs)
    if args.env == "none":  # no closed loop: validate on held-out episodes
        demos = dataclasses.replace(demos, env_id="", env_kwargs={})
    elif args.env is not None:
        demos = dataclasses.replace(demos, env_id=args.env, env_kwargs=kwargs or {})
    elif kwargs is not None:
        if not demos.env_id:
            raise ValueError(f"--env-kwargs given but {args.data} records no env; name it with --env")
        demos = dataclasses.replace(demos, env_kwargs=kwargs)
    return demos


def _train(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import check_output_folder
    from implicit_policy.training.trainer import TrainingInterrupted, train

    if args.nproc is not None and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return _launch(args.nproc, args.argv)
    config = _config_from_args(args)
    demos = _load_training_data(args)
    check_output_folder(args.out, "--out")
    try:
        result = train(config, demos, args.out, resume=args.resume, progress=not args.quiet)
    except TrainingInterrupted as stopped:
        if int(os.environ.get("RANK", "0")) == 0:  # one line for the run, not one per process
            world = int(os.environ.get("WORLD_SIZE", "1"))
            launch = ["--nproc", str(world)] if world > 1 and "--nproc" not in args.argv else []
            again = " ".join(["implicit-policy", *(a for a in args.argv if a != "--resume"), *launch, "--resume"])
            hint = f"; continue with: {again}" if stopped.checkpoint else ""
            print(f"implicit-policy train: {stopped}{hint}", file=sys.stderr)
        return 130
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if result.final_success_rate is not None:
        validation = f"validation success {result.final_success_rate:.1%}"
    elif "val_action_mse" in result.final_validation:
        validation = f"held-out action error (MSE) {result.final_validation['val_action_mse']:.4g}"
    else:
        validation = "no validation"
    print(f"trained {result.steps} steps in {result.seconds:.0f} s into {args.out}; {validation}")
    return 0


def _launch(nproc: int, argv: list[str]) -> int:
    """``train --nproc N`` (``argv``: the command's arguments): the same command in N processes on this
    machine, by torchrun's launcher (``torch.distributed.run``). A rank that fails prints its own line (its
    rank, its error); one killed by a signal is named here; torchrun stops the others either way."""
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    at = argv.index("--nproc")
    command = [*argv[:at], *argv[at + 2 :]]
    launch = get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "--no-python", sys.executable, "-m", "implicit_policy.cli"]
        + command
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per process unless told otherwise
    for name in list(logging.root.manager.loggerDict):  # torchrun's reports repeat what the ranks say in one line
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        run(launch)
    except SignalException:  # Ctrl-C or SIGTERM: the ranks stopped at one step and rank 0 said how to continue
        return 130
    except ChildFailedError as failed:
        codes = {rank: failure.exitcode for rank, failure in failed.failures.items()}
        if set(codes.values()) <= {130, -2, -15}:  # interrupted: rank 0 printed how to continue
            return 130
        rank, first = failed.get_first_failure()
        if first.exitcode < 0:  # killed: it said nothing itself
            print(
                f"implicit-policy train: error: rank {rank} of {nproc} was killed by signal {-first.exitcode}; the "
                "other processes were stopped (the run folder keeps its last whole checkpoint)",
                file=sys.stderr,
            )
        return 2 if first.exitcode == 2 else 1
    return 0


def _tune(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import check_output_folder
    from implicit_policy.data import load_demonstrations
    from implicit_policy.experiments.ray_tune import require_ray
    from implicit_policy.experiments.search import format_search_table, load_space, run_search

    require_ray()
    config = _config_from_args(args)
    if args.env is not None or args.env_kwargs is not None or args.obs_keys is not None:
        raise ValueError(
            "tune reads --data as recorded: convert it first (--env, --env-kwargs, --obs-keys are for train)"
        )
    if args.eval_every is not None or args.eval_episodes is not None:
        config = config.updated(
            **{
                k: v
                for k, v in (("eval_every", args.eval_every), ("eval_episodes", args.eval_episodes))
                if v is not None
            }
        )
    config = config.updated(checkpoint_every=config.eval_every)  # an interrupted trial resumes from its last validation
    if args.trials < 1:
        raise ValueError(f"--trials must be >= 1, got {args.trials}")
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    space = load_space(args.space, config)
    if not load_demonstrations(args.data).env_id:  # a clear error now, not in every trial
        raise ValueError(
            f"{args.data} records no env: tune tests each trial closed-loop; train with --val-episodes instead"
        )
    check_output_folder(args.out, "--out")
    found = run_search(
        config,
        args.data,
        space,
        args.trials,
        args.out,
        seed=args.search_seed,
        jobs=args.jobs,
        address=args.address,
        grace=args.grace,
        test_episodes=args.test_episodes,
    )
    print(format_search_table(found["trials"]))
    if found["best"] is None:
        print(f"no trial finished; see {args.out}/trials.json")
        return 1
    print(
        f"best: {found['best']['trial']} (validation {found['best']['best_validation']:.0%}); wrote "
        f"{args.out}/best_config.json (implicit-policy train --config {args.out}/best_config.json ...), "
        f"trials.csv, trials.json, trials.png"
    )
    return 0


def _load_any_policy(path: str, device: str, seed: int, threads: int, inference_settings: Sequence[str] = ()):
    """An ``OnnxPolicy`` for a ``.onnx`` file, else the checkpoint's ``ImplicitPolicy`` or ``ExplicitPolicy``
    (both know the env they were trained on: ``env_id``, empty for none, and ``env_kwargs``); an energy model's
    checkpoint acting with its inference config changed by ``inference.FIELD=VALUE`` settings."""
    if str(path).endswith(".onnx"):
        if inference_settings:
            raise ValueError(f"{path}: an exported file acts as it was exported; --set needs a checkpoint")
        from implicit_policy.runtime.onnx_policy import OnnxPolicy

        return OnnxPolicy(path, threads=threads, seed=seed)
    import torch

    from implicit_policy.config import setting_value
    from implicit_policy.policies.torch_policy import ImplicitPolicy, load_policy

    torch.set_num_threads(threads)
    policy = load_policy(path, device=device, seed=seed)
    if not inference_settings:
        return policy
    if not isinstance(policy, ImplicitPolicy):
        raise ValueError(f"{path}: --set changes an energy model's inference; this is an explicit policy")
    inference = policy.header.policy.acting  # an energy model's inference config
    fields = inference.model_dump()
    for setting in inference_settings:
        name, sep, text = setting.removeprefix("policy.").removeprefix("inference.").partition("=")
        if not (setting.startswith(("inference.", "policy.inference.")) and sep and name in fields):
            raise ValueError(
                f"--set {setting!r}: eval sets the policy's inference fields, inference.FIELD=VALUE with FIELD one "
                f"of {', '.join(fields)}"
            )
        fields[name] = setting_value(text)
    changed = ImplicitPolicy(
        policy.header, policy.model, device, seed, inference=type(inference).model_validate(fields)
    )
    changed.run_dir = policy.run_dir
    return changed  # the loaded weights, not a second read of the checkpoint


def _export(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import check_output_file
    from implicit_policy.policies.export import export_argmin, export_energy
    from implicit_policy.policies.torch_policy import ImplicitPolicy, load_policy

    out = Path(args.out)
    if args.out.endswith(("/", os.sep)) or out.is_dir():  # a folder: the file goes inside it
        out = out / ("energy.onnx" if args.energy_only else "policy.onnx")
    check_output_file(out, "--out")
    policy = load_policy(args.policy)
    if args.energy_only:
        if not isinstance(policy, ImplicitPolicy):
            raise ValueError(
                f"{args.policy} is an explicit policy: it has no energy net to export (drop --energy-only)"
            )
        path = export_energy(policy, out)
    else:
        path = export_argmin(policy, out)
    what = "energy net" if args.energy_only else f"argmin ({policy.header.policy.acting.kind})"
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {what}, one self-contained file")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import atomic_write_text, check_output_file
    from implicit_policy.evaluation.env_hooks import diagnostic_label
    from implicit_policy.evaluation.evaluate import evaluate

    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.json:
        check_output_file(args.json, "--json")  # before minutes of evaluation, not after
    if args.video and args.video_dir:
        raise ValueError("give --video FILE.mp4 or --video-dir DIR, not both")
    if args.video:
        check_output_file(args.video, "--video")
    if args.video or args.video_dir:
        from implicit_policy.evaluation.video import require_video

        require_video()
    policy = _load_any_policy(args.policy, args.device, args.seed, args.threads, args.set)
    policy.execute(args.n_action_steps, args.temporal_ensemble)
    env_id = args.env or policy.env_id
    if not env_id:
        raise ValueError(f"{args.policy} was trained on data with no env: name one to evaluate in with --env ID")
    kwargs = _env_kwargs(args.env_kwargs)
    if kwargs is None:
        kwargs = policy.env_kwargs if env_id == policy.env_id else {}
    started = time.perf_counter()
    result = evaluate(policy, env_id, args.episodes, args.seed, progress=not args.quiet, env_kwargs=kwargs)
    result |= {"policy": str(args.policy), "seconds": time.perf_counter() - started}
    success = (
        "n/a (the env reports no is_success)" if result["success_rate"] is None else f"{result['success_rate']:.1%}"
    )
    labelled = [(diagnostic_label(name), value) for name, value in result.items() if isinstance(value, float)]
    extra = "".join(f", {label} {value:.1%}" for label, value in labelled if label)
    print(
        f"{env_id}: success {success} over {args.episodes} episodes "
        f"(seeds {args.seed}..{args.seed + args.episodes - 1}), mean return {result['mean_return']:.3f}, "
        f"mean max reward {result['mean_max_reward']:.3f}{extra}"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
    if args.video or args.video_dir:
        from implicit_policy.evaluation.video import record_videos

        written = record_videos(
            policy, env_id, args.video_episodes, args.seed, args.video, args.video_dir, env_kwargs=kwargs
        )
        print(f"wrote {', '.join(map(str, written))} ({args.video_episodes} episodes from seed {args.seed})")
    return 0


def _push(args: argparse.Namespace) -> int:
    from implicit_policy.policies.torch_policy import load_policy

    policy = load_policy(args.policy)
    url = policy.push_to_hub(args.repo, private=args.private, revision=args.revision)
    print(f"pushed {args.policy} to the Hub repo {args.repo}: {url}")
    return 0


def _plot_energy(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import check_output_file
    from implicit_policy.diagnostics.landscape import energy_landscape
    from implicit_policy.diagnostics.plots import plot_energy_landscape
    from implicit_policy.extras import require
    from implicit_policy.policies.torch_policy import ImplicitPolicy, load_policy

    require("matplotlib", "plot-energy")
    if args.grid < 2:
        raise ValueError(f"--grid must be >= 2 points per axis, got {args.grid}")
    check_output_file(args.out, "--out")
    policy = load_policy(args.policy)
    if not isinstance(policy, ImplicitPolicy):
        raise ValueError(f"{args.policy} is an explicit policy: it has no energy to plot")
    landscape = energy_landscape(policy, args.observations, args.seed, args.grid)
    path = plot_energy_landscape(landscape, args.out)
    print(f"wrote {path}: {args.observations} observations of {landscape.env_id} (episode seeds from {args.seed})")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from implicit_policy.atomic import atomic_write_text, check_output_file
    from implicit_policy.data import load_demonstrations
    from implicit_policy.diagnostics.search_or_model import format_search_or_model, search_or_model
    from implicit_policy.policies.torch_policy import load_policy

    if args.json:
        check_output_file(args.json, "--json")
    if args.states < 1:
        raise ValueError(f"--states must be >= 1, got {args.states}")
    result = search_or_model(
        load_policy(args.policy), load_demonstrations(args.data), args.states, args.seed, args.tolerance
    )
    print(format_search_or_model(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
    return 0


def _config(args: argparse.Namespace) -> int:
    from implicit_policy.presets import preset

    print(preset(args.preset).model_dump_json(indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="implicit-policy",
        description="Implicit (energy-based) behaviour-cloned policies: collect demonstrations, train, evaluate "
        "closed-loop in Gymnasium, export to ONNX. Typical run: collect, then train (--preset proposal, "
        "the default, or ibc-langevin, ...), then eval, then export.",
    )
    parser.add_argument("--version", action="version", version=f"implicit-policy {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    collect = commands.add_parser(
        "collect", help="write scripted demonstrations to a .npz file or a Minari dataset (--out minari:ID)"
    )
    collect.add_argument("--env", required=True, help="env id, e.g. Particle2D-v0, gym_pusht/PushT-v0 or module:EnvId")
    collect.add_argument("--env-kwargs", help="JSON object of the env's constructor kwargs, recorded in the data")
    collect.add_argument(
        "--controller",
        choices=["demonstrator", "random"],
        default="demonstrator",
        help="who acts: the env's scripted demonstrator (default) or uniform random actions (any env)",
    )
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

    train = commands.add_parser("train", help="train an energy model on demonstrations")
    train.add_argument("--data", required=True, help=DATA_HELP)
    train.add_argument("--out", required=True, help="run folder (checkpoints, metrics.jsonl)")
    _add_config_arguments(train)
    _add_data_arguments(train)
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--nproc",
        type=int,
        help="train data-parallel in N processes on this machine (torchrun's launcher; gloo on CPUs, NCCL on "
        "GPUs); the global batch stays optim.batch_size, split across them",
    )
    train.set_defaults(run=_train)

    tune = commands.add_parser(
        "tune", help="search config fields on Ray Tune with early stopping (ASHA); needs the sweep extra"
    )
    tune.add_argument("--data", required=True, help=DATA_HELP)
    tune.add_argument("--space", required=True, help="JSON: field -> {choice|uniform|loguniform|randint: [...]}")
    tune.add_argument("--trials", type=int, required=True, help="settings drawn from the space, one trial each")
    tune.add_argument("--out", required=True, help="search folder: trials/, best_config.json, trials.{csv,json,png}")
    _add_config_arguments(tune)
    _add_data_arguments(tune)
    tune.add_argument("--eval-every", type=int, help="validation interval in steps: one report to the scheduler")
    tune.add_argument("--eval-episodes", type=int, help="validation episodes per report")
    tune.add_argument("--test-episodes", type=int, default=100, help="test episodes of each finished trial")
    tune.add_argument("--grace", type=int, default=1, help="validations before ASHA may stop a trial")
    tune.add_argument("--search-seed", type=int, default=0, help="seed of the draws from the space")
    tune.add_argument("--jobs", type=int, help="trials at once (default: as many as Ray's CPUs allow)")
    tune.add_argument("--address", help="a Ray cluster to run on (or set RAY_ADDRESS); default: a local Ray")
    tune.set_defaults(run=_tune)

    evaluate = commands.add_parser("eval", help="closed-loop success rate of a trained policy")
    evaluate.add_argument("--policy", required=True, help=POLICY_HELP)
    evaluate.add_argument("--env", help="env id (default: the one the policy was trained on)")
    evaluate.add_argument("--env-kwargs", help="JSON object of the env's kwargs (default: those it was trained with)")
    evaluate.add_argument("--episodes", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=1000, help="episode k uses seed + k")
    evaluate.add_argument("--device", default="cpu", help="torch device for a checkpoint")
    evaluate.add_argument("--threads", type=int, default=1, help="torch or onnxruntime intra-op threads")
    evaluate.add_argument("--json", help="write the results (success_rate, episodes, mean_return, ...) here")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.add_argument("--video", help="also record the first --video-episodes episodes into this .mp4 file")
    evaluate.add_argument("--video-dir", help="also record them, one .mp4 per episode named by seed and success")
    evaluate.add_argument("--video-episodes", type=int, default=1, help="episodes to record (default 1)")
    evaluate.add_argument(
        "--n-action-steps",
        type=int,
        help="actions of each decided chunk to execute before deciding again (1 to the policy's horizon; "
        "default: the trained value)",
    )
    evaluate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="inference.FIELD=VALUE",
        help="act with the energy model's inference changed, no retraining: e.g. --set "
        "inference.choose=proposal_mode --set inference.refine_steps=20 (repeatable; VALUE is JSON)",
    )
    evaluate.add_argument(
        "--temporal-ensemble",
        type=float,
        help="decide every tick and average the chunks' overlapping actions with ACT's weights exp(-m i) (m > 0; "
        "0: off; default: the trained value)",
    )
    evaluate.set_defaults(run=_eval)

    export = commands.add_parser("export", help="write a trained policy as one self-contained ONNX file")
    export.add_argument("--policy", required=True, help=POLICY_HELP)
    export.add_argument(
        "--out", required=True, help="output .onnx path, or a folder (policy.onnx inside it); written atomically"
    )
    export.add_argument("--energy-only", action="store_true", help="export E(obs, actions) alone, not the argmin")
    export.set_defaults(run=_export)

    push = commands.add_parser(
        "push", help="share a trained policy on the Hugging Face Hub (checkpoint, ONNX file, config, model card)"
    )
    push.add_argument("--policy", required=True, help="run folder or checkpoint folder")
    push.add_argument("--repo", required=True, help="Hub repo id, e.g. your-name/particle2d-proposal")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--revision", help="branch to push to (default: main)")
    push.set_defaults(run=_push)

    plot_energy = commands.add_parser("plot-energy", help="heatmaps of E(obs, .) over a 2-D action box, as PNG")
    plot_energy.add_argument("--policy", required=True, help=POLICY_HELP)
    plot_energy.add_argument("--out", required=True, help="output .png path (written atomically)")
    plot_energy.add_argument("--observations", type=int, default=4, help="how many oracle states to show")
    plot_energy.add_argument("--seed", type=int, default=1000, help="episode seeds of the states: seed, seed + 1, ...")
    plot_energy.add_argument("--grid", type=int, default=101, help="grid points per action axis")
    plot_energy.set_defaults(run=_plot_energy)

    diagnose = commands.add_parser(
        "diagnose",
        help="search failure or model failure: the policy's actions on demonstrated states it did not train on",
    )
    diagnose.add_argument("--policy", required=True, help=POLICY_HELP)
    diagnose.add_argument(
        "--data", required=True, help="held-out demonstrations (.npz or minari:ID), e.g. collected from other seeds"
    )
    diagnose.add_argument("--states", type=int, default=200, help="transitions drawn at random")
    diagnose.add_argument("--seed", type=int, default=0, help="seed of the draw and of the inference noise")
    diagnose.add_argument("--tolerance", type=float, default=0.05, help="distance counted as a hit (raw action units)")
    diagnose.add_argument("--json", help="write the table's rows here")
    diagnose.set_defaults(run=_diagnose)

    config = commands.add_parser("config", help="print a preset's full config as JSON, to edit and pass to --config")
    config.add_argument("--preset", default="proposal")
    config.set_defaults(run=_config)
    return parser


POLICY_HELP = (
    "run folder (its best-validated weights; RUN/latest: its newest), checkpoint folder, exported .onnx file "
    "(eval), or hf:ID for a Hugging Face Hub repo"
)
DATA_HELP = (
    "demonstrations: a .npz from `collect`, or lerobot:PATH, zarr:PATH, robomimic:PATH, minari:ID|PATH "
    "(docs: Your own env and data)"
)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--obs-keys",
        help="observation keys to concatenate, in order, each flattened and optionally sliced: "
        "observation.state,goal or keypoint,state[:2] (Diffusion Policy's Push-T observation)",
    )
    parser.add_argument(
        "--episodes",
        help="train on these episodes of --data only: indices and ranges (0-89,120) or diffusion_policy:90 "
        "(Diffusion Policy's Push-T training split)",
    )
    parser.add_argument(
        "--env", help="env to validate in closed loop (default: the data's own; none: held-out validation)"
    )
    parser.add_argument(
        "--env-kwargs", help='JSON object of the env\'s constructor kwargs, e.g. \'{"obs_type": "state"}\''
    )
    parser.add_argument(
        "--val-episodes",
        type=float,
        help="episodes held out to validate on: N, or a fraction below 1 (default: 10%% with no env, 0 with one)",
    )


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        help="proposal (default), proposal-arm (arm tasks: FetchPush), ibc-langevin, dfo, correct-langevin, ibc-mas, correct-mas, correct-mas-maxent, "
        "ibc-reference, or the explicit baselines mse, mdn and mdn-arm",
    )
    parser.add_argument("--config", help="a TrainConfig JSON file instead of a preset")
    parser.add_argument("--steps", type=int, help="override the number of training steps")
    parser.add_argument("--seed", type=int, help="override the seed")
    parser.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="set any config field, e.g. --set n_obs_steps=2 --set sampler.iterations=30 (repeatable; VALUE is JSON)",
    )
    parser.add_argument("--device", help="torch device to train on: cpu (the config's default) or cuda")
    parser.add_argument(
        "--log", help="also log every metric to tensorboard, wandb, or both (tensorboard,wandb); extras of those names"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads (the config's torch_threads, 1 by default: one training per core; 0 takes every core)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    who = f"implicit-policy {args.command}" + (f" (rank {rank} of {world})" if world > 1 else "")

    try:
        return args.run(args)
    except ValueError as err:  # our validation errors: one clear line, no traceback
        message = " ".join(str(err).split())  # one line, whatever the message
        if rank == 0:  # the same input fails alike on every rank of a data-parallel run: rank 0 says it, once
            print(f"{who}: error: {message}", file=sys.stderr)
        return 2
    except ImportError as err:  # an optional dependency: one line naming the extra that installs it
        hint = missing_extra_message(err)
        if hint is None:
            raise
        print(f"{who}: error: {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside training (which saves its step itself)
        print(f"{who}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # the filesystem refused (full disk, a folder gone meanwhile): one line, not a traceback
        where = f": {err.filename}" if err.filename else ""
        print(f"{who}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        train_module = sys.modules.get("implicit_policy.training.trainer")
        if train_module is not None and isinstance(err, train_module.TrainingDiverged):
            print(f"{who}: error: {err}", file=sys.stderr)  # says which checkpoint was kept
            return 1
        if world <= 1:
            raise
        return _rank_failed(who, err)
    except Exception as err:
        if world <= 1:
            raise
        return _rank_failed(who, err)


def _rank_failed(who: str, err: Exception) -> int:
    """A process of a data-parallel run failed: one line with its error, unless it failed only because another
    rank went away (the collective's connection closed), which that rank or the launcher reports."""
    message = " ".join(str(err).split())
    if "Connection reset by peer" not in message and "Connection closed by peer" not in message:
        print(f"{who}: error: {type(err).__name__}: {message[:300]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
