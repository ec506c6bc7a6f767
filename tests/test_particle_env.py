"""The particle envs: Gymnasium conformance, physics, success test, seeding, vector modes, rendering."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import implicit_policy  # noqa: F401  (registers the envs)
import waiting
from implicit_policy_envs import ParticleEnv, ParticleOracle, particle_env_ids
from implicit_policy_envs.particle import GoalProgress, pd_step


@pytest.mark.parametrize("env_id", particle_env_ids())
def test_check_env_passes_without_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 50


def test_module_prefixed_id_registers_in_fresh_process():
    import sys

    code = (
        "import gymnasium as gym; e = gym.make('implicit_policy_envs:Particle4D-v0'); print(e.observation_space.shape)"
    )
    out = waiting.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(16,)"


def test_observation_layout_and_info_parts():
    env = gym.make("Particle4D-v0")
    obs, info = env.reset(seed=3)
    assert obs.shape == (16,) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs[:4], info["agent_position"])
    np.testing.assert_array_equal(obs[4:8], np.zeros(4, np.float32))
    np.testing.assert_array_equal(obs[8:12], info["first_goal"])
    np.testing.assert_array_equal(obs[12:], info["second_goal"])
    np.testing.assert_allclose(info["first_goal_distance"], np.linalg.norm(obs[:4] - obs[8:12]), rtol=1e-6)


def test_pd_step_matches_hand_computed_euler():
    p, v, a = np.array([[0.2]]), np.array([[0.0]]), np.array([[1.0]])
    hp, hv = 0.2, 0.0
    for _ in range(10):
        u = 10.0 * (1.0 - hp) - 5.0 * hv
        hp, hv = hp + hv * 0.005, hv + u * 0.005
    p, v = pd_step(p, v, a)
    assert p[0, 0] == pytest.approx(hp) and v[0, 0] == pytest.approx(hv)
    assert hp > 0.2 and hv > 0


def test_pumping_controller_stays_inside_observation_bounds():
    env = ParticleEnv(n_dim=2, max_episode_steps=2000)
    obs, _ = env.reset(seed=0)
    lo, hi = env.observation_space.low, env.observation_space.high
    for _ in range(2000):  # push along the velocity: the worst case for energy growth
        action = np.where(obs[2:4] > 0, 1.0, 0.0).astype(np.float32)
        obs, *_ = env.step(action)
        assert np.all(obs >= lo) and np.all(obs <= hi)


def test_success_needs_goal_order_and_staying():
    progress = GoalProgress(4, ordered=True)
    far, near = 1.0, 0.01
    # env 0: first then second (success); env 1: second only; env 2: second then first (wrong order);
    # env 3: first, then second, then leaves it.
    steps = [
        np.array([[near, far], [far, near], [far, near], [near, far]]),
        np.array([[far, near], [far, near], [near, far], [far, near]]),
        np.array([[far, near], [far, near], [near, far], [far, far]]),
    ]
    for d in steps:
        success = progress.update(d)
    assert success.tolist() == [True, False, False, False]


def test_multimodal_success_accepts_either_order():
    progress = GoalProgress(2, ordered=False)
    progress.update(np.array([[1.0, 0.01], [0.01, 1.0]]))
    success = progress.update(np.array([[0.01, 1.0], [1.0, 0.01]]))
    assert success.tolist() == [True, True]


def test_reward_only_on_last_step_of_success():
    env = gym.make("Particle2D-v0")
    oracle = ParticleOracle(2)
    obs, info = env.reset(seed=5)
    oracle.reset(info["first_goal_index"])
    rewards, truncs = [], []
    for _ in range(50):
        obs, r, term, trunc, info = env.step(oracle.act(obs))
        rewards.append(r)
        truncs.append(trunc)
        assert term is False and isinstance(info["is_success"], bool)
    assert truncs == [False] * 49 + [True]
    assert rewards == [0.0] * 49 + [1.0] and info["is_success"]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(3, np.float32),
        np.zeros((1, 2), np.float32),
        np.array(["a", "b"]),
        np.array([np.nan, 0.5]),
        np.array([0.5, np.inf]),
    ],
)
def test_bad_actions_raise_value_error_naming_shape(bad):
    env = gym.make("Particle2D-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        env.step(bad)


def test_out_of_range_action_is_clipped():
    a, b = ParticleEnv(), ParticleEnv()
    a.reset(seed=1)
    b.reset(seed=1)
    oa, *_ = a.step(np.array([3.0, -2.0]))
    ob, *_ = b.step(np.array([1.0, 0.0], dtype=np.float32))
    np.testing.assert_array_equal(oa, ob)


def _episode(env, seed, steps=50):
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        obs, *_ = env.step(rng.uniform(0, 1, 2).astype(np.float32))
        trace.append(obs)
    return np.stack(trace)


def test_same_seed_same_episode_single_env():
    np.testing.assert_array_equal(_episode(gym.make("Particle2D-v0"), 7), _episode(gym.make("Particle2D-v0"), 7))
    assert not np.array_equal(_episode(gym.make("Particle2D-v0"), 7), _episode(gym.make("Particle2D-v0"), 8))


@pytest.mark.parametrize("env_id", ["Particle2D-v0", "Particle2DMultimodal-v0"])
def test_vector_modes_match_single_env_episode_for_episode(env_id):
    n, seed, steps = 4, 11, 60  # 60 > 50 steps crosses an autoreset
    rng = np.random.default_rng(1)
    actions = rng.uniform(0, 1, size=(steps, n, 2)).astype(np.float32)
    traces = {}
    for mode in ["vector_entry_point", "sync", "async"]:
        env = gym.make_vec(env_id, num_envs=n, vectorization_mode=mode)
        obs, info = env.reset(seed=seed)
        trace, orders, successes = [obs], [info["first_goal_index"]], []
        for t in range(steps):
            obs, reward, term, trunc, info = env.step(actions[t])
            trace.append(obs)
            successes.append(info["is_success"])
        env.close()
        traces[mode] = (np.stack(trace), np.stack(successes), orders[0])
    for mode in ["sync", "async"]:
        for got, want in zip(traces[mode], traces["vector_entry_point"]):
            np.testing.assert_array_equal(got, want)
    single = gym.make(env_id)
    for i in range(n):  # the first episode of sub-env i is the single env's episode with seed + i
        obs, _ = single.reset(seed=seed + i)
        np.testing.assert_array_equal(obs, traces["vector_entry_point"][0][0, i])
        for t in range(50):
            obs, *_ = single.step(actions[t, i])
            np.testing.assert_array_equal(obs, traces["vector_entry_point"][0][t + 1, i])


def test_batched_vector_env_autoresets_on_next_step():
    env = gym.make_vec("Particle2D-v0", num_envs=3)
    env.reset(seed=0)
    for _ in range(50):
        obs, _, _, trunc, _ = env.step(np.full((3, 2), 0.5, np.float32))
    assert trunc.all()
    obs, reward, term, trunc, info = env.step(np.full((3, 2), 0.5, np.float32))
    assert not trunc.any() and (obs[:, 2:4] == 0).all()  # fresh episodes start at rest


def test_multimodal_order_is_seeded_and_varies():
    env = gym.make("Particle2DMultimodal-v0")
    orders = [env.reset(seed=s)[1]["first_goal_index"] for s in range(40)]
    assert set(orders) == {0, 1}
    assert orders == [env.reset(seed=s)[1]["first_goal_index"] for s in range(40)]


@pytest.mark.parametrize("env_id", ["Particle2D-v0", "Particle1D-v0", "Particle8D-v0"])
def test_rgb_render_draws_goals_and_agent(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    assert env.metadata["render_fps"] == 20
    env.reset(seed=0)
    for _ in range(5):
        env.step(env.action_space.sample())
    frame = env.render()
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert {(60, 180, 75), (0, 90, 220), (230, 25, 25)} <= colours


def test_vector_env_render_gives_one_frame_per_env():
    env = gym.make_vec("Particle2D-v0", num_envs=2, render_mode="rgb_array")
    env.reset(seed=0)
    frames = env.render()
    assert len(frames) == 2 and frames[0].shape == (256, 256, 3)
